// One request with the official @anthropic-ai/sdk; prints exactly one JSON line on stdout.
//
//   node stream.mjs BASE_URL MODEL MODE [TIMEOUT_MS] < body.json
//
// MODE is `stream` (client.messages.stream(...) + finalMessage()) or `create` (non-streaming).
// The request body (messages, max_tokens, tools, thinking...) is read as JSON from stdin; MODEL
// replaces its `model`. An empty stdin sends a one-line question. maxRetries is 0, so the retries
// under test are the gateway's own.
//
// Output: {"ok": true, "text", "tool_inputs", "stop_reason", "usage"}
//     or  {"ok": false, "error_name", "is_api_error", "status", "type", "message"}
import Anthropic from '@anthropic-ai/sdk';

const [baseURL, model, mode, timeoutArg] = process.argv.slice(2);
if (!baseURL || !model || !['stream', 'create'].includes(mode)) {
  process.stderr.write('usage: node stream.mjs BASE_URL MODEL stream|create [TIMEOUT_MS] < body.json\n');
  process.exit(2);
}

async function readStdin() {
  if (process.stdin.isTTY) return '';
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const raw = (await readStdin()).trim();
const body = raw
  ? JSON.parse(raw)
  : { max_tokens: 1024, messages: [{ role: 'user', content: 'Say hello' }] };
body.model = model;

const client = new Anthropic({
  baseURL,
  apiKey: process.env.ANTHROPIC_API_KEY || 'sk-test',
  maxRetries: 0,
  timeout: Number(timeoutArg || 45000),
});

function summary(message) {
  return {
    ok: true,
    text: message.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    tool_inputs: message.content.filter((b) => b.type === 'tool_use').map((b) => b.input),
    stop_reason: message.stop_reason,
    usage: message.usage,
  };
}

let out;
try {
  let message;
  if (mode === 'stream') {
    const stream = client.messages.stream(body);
    message = await stream.finalMessage();
  } else {
    message = await client.messages.create(body);
  }
  out = summary(message);
} catch (err) {
  out = {
    ok: false,
    error_name: err?.name ?? err?.constructor?.name ?? typeof err,
    is_api_error: err instanceof Anthropic.APIError,
    status: err?.status ?? null,
    type: err?.type ?? null,
    message: String(err?.message ?? err).slice(0, 2000),
  };
}
process.stdout.write(JSON.stringify(out) + '\n');
