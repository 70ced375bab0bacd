// The Vercel AI SDK (`ai` with @ai-sdk/anthropic on /v1/messages, @ai-sdk/openai-compatible on
// /v1/chat/completions) against the gateway, the way an agent uses it: a tool offered, streamText
// or generateText. Runs every job it reads from stdin, a few at a time, and prints one JSON line
// per job with what the application ended up holding and the request body the SDK sent (so the
// test can work out the answer the simulator gives to exactly that request).
//
//   node ai_sdk.mjs GATEWAY_URL CONCURRENCY < jobs.json
//   jobs: [{"id", "provider": "anthropic"|"openai", "mode": "stream"|"generate", "model", "prompt"}]
import { generateText, jsonSchema, streamText, tool } from "ai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

const [gateway, concurrency] = process.argv.slice(2);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const jobs = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const tools = {
  get_weather: tool({
    description: "Weather for a city",
    inputSchema: jsonSchema({
      type: "object",
      properties: { city: { type: "string" }, days: { type: "integer" } },
      required: ["city"],
    }),
  }),
};

function describe(error) {
  return {
    name: error?.name ?? typeof error,
    status: error?.statusCode ?? null,
    message: String(error?.message ?? error).slice(0, 1000),
  };
}

async function run(job) {
  const sent = [];
  // Every request body the SDK sends, as sent.
  const fetchAndKeep = (url, init) => {
    sent.push(typeof init?.body === "string" ? init.body : null);
    return fetch(url, init);
  };
  const model =
    job.provider === "anthropic"
      ? createAnthropic({ baseURL: `${gateway}/v1`, apiKey: "sk-test", fetch: fetchAndKeep })(job.model)
      : createOpenAICompatible({ name: "gateway", baseURL: `${gateway}/v1`, apiKey: "sk-test", fetch: fetchAndKeep })(job.model);
  const call = { model, prompt: job.prompt, tools, maxRetries: 0 };
  const out = { id: job.id, errors: [], text: "", toolInputs: [], finish: null };
  try {
    if (job.mode === "generate") {
      const result = await generateText(call);
      out.text = result.text;
      out.toolInputs = result.toolCalls.map((c) => c.input);
      out.finish = result.finishReason;
    } else {
      const result = streamText({ ...call, onError: () => {} });
      for await (const part of result.fullStream) {
        if (part.type === "text-delta") out.text += part.text;
        else if (part.type === "tool-call") out.toolInputs.push(part.input);
        else if (part.type === "error") out.errors.push(describe(part.error));
        else if (part.type === "finish") out.finish = part.finishReason;
      }
    }
  } catch (error) {
    out.errors.push(describe(error));
  }
  out.body = sent[0] ?? null;
  return out;
}

const queue = [...jobs];
async function worker() {
  for (let job = queue.shift(); job; job = queue.shift()) {
    process.stdout.write(JSON.stringify(await run(job)) + "\n");
  }
}
await Promise.all(Array.from({ length: Number(concurrency) || 8 }, worker));
