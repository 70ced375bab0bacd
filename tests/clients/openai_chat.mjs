// One chat.completions request with the official `openai` Node SDK; prints one JSON line on stdout.
//
//   node openai_chat.mjs BASE_URL MODE [TIMEOUT_MS] < body.json
//
// MODE is `stream` (stream: true with include_usage, chunks added up here as a client does) or
// `create` (non-streaming). The body comes as JSON on stdin. maxRetries is 0: the retries under test
// are the gateway's.
//
// Output: {"ok": true, "text", "reasoning", "tools": [{id, name, arguments}], "finish_reason", "usage"}
//     or  {"ok": false, "error_name", "is_api_error", "status", "message"}
import OpenAI from 'openai';

const [baseURL, mode, timeoutArg] = process.argv.slice(2);
if (!baseURL || !['stream', 'create'].includes(mode)) {
  process.stderr.write('usage: node openai_chat.mjs BASE_URL stream|create [TIMEOUT_MS] < body.json\n');
  process.exit(2);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const client = new OpenAI({ baseURL, apiKey: 'sk-test', maxRetries: 0, timeout: Number(timeoutArg || 45000) });

let out;
try {
  if (mode === 'stream') {
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    out = { ok: true, text: '', reasoning: '', tools: [], finish_reason: null, usage: null };
    for await (const chunk of stream) {
      if (chunk.usage) out.usage = chunk.usage;
      for (const choice of chunk.choices) {
        const delta = choice.delta ?? {};
        out.text += delta.content ?? '';
        out.reasoning += delta.reasoning_content ?? '';
        for (const call of delta.tool_calls ?? []) {
          const slot = (out.tools[call.index] ??= { id: null, name: null, arguments: '' });
          if (call.id) slot.id = call.id;
          if (call.function?.name) slot.name = call.function.name;
          if (call.function?.arguments) slot.arguments += call.function.arguments;
        }
        if (choice.finish_reason) out.finish_reason = choice.finish_reason;
      }
    }
  } else {
    const completion = await client.chat.completions.create(body);
    const message = completion.choices[0].message;
    out = {
      ok: true,
      text: message.content ?? '',
      reasoning: message.reasoning_content ?? '',
      tools: (message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
      finish_reason: completion.choices[0].finish_reason,
      usage: completion.usage,
    };
  }
} catch (err) {
  out = {
    ok: false,
    error_name: err?.constructor?.name ?? typeof err,
    is_api_error: err instanceof OpenAI.APIError,
    status: err?.status ?? null,
    message: String(err?.message ?? err).slice(0, 2000),
  };
}
process.stdout.write(JSON.stringify(out) + '\n');
