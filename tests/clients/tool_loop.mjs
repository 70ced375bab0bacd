// An agent's tool loop with the official @anthropic-ai/sdk's tool runner and a real shell tool;
// prints exactly one JSON line on stdout.
//
//   node tool_loop.mjs BASE_URL MODEL WORKDIR PROMPT
//
// The tool `Bash` runs its command with /bin/sh in WORKDIR. The runner streams each turn, runs
// the tool calls it gets, sends their results back, and stops when the model ends its turn.
//
// Output: {"ok": true, "ran": [commands], "text", "stop_reason"}
//     or  {"ok": false, "error_name", "status", "message"}
import { execFileSync } from 'node:child_process';
import Anthropic from '@anthropic-ai/sdk';

const [baseURL, model, workdir, prompt] = process.argv.slice(2);
if (!baseURL || !model || !workdir || !prompt) {
  process.stderr.write('usage: node tool_loop.mjs BASE_URL MODEL WORKDIR PROMPT\n');
  process.exit(2);
}

const client = new Anthropic({ baseURL, apiKey: 'sk-test', maxRetries: 0 });
const ran = [];
const bash = {
  name: 'Bash',
  description: 'Run a shell command.',
  input_schema: {
    type: 'object',
    properties: { command: { type: 'string' } },
    required: ['command'],
  },
  run: async ({ command }) => {
    ran.push(command);
    try {
      return execFileSync('/bin/sh', ['-c', command], { cwd: workdir, encoding: 'utf8' }) || '(no output)';
    } catch (err) {
      return `failed: ${err.message}`;
    }
  },
  parse: (input) => input,
};

let out;
try {
  const runner = client.beta.messages.toolRunner({
    model,
    max_tokens: 1024,
    messages: [{ role: 'user', content: prompt }],
    tools: [bash],
    stream: true,
    max_iterations: 4,
    // The full history each turn: by default the runner continues a server-side message thread
    // (beta), which the simulator does not keep.
    thread: false,
  });
  const message = await runner.runUntilDone();
  out = {
    ok: true,
    ran,
    text: message.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    stop_reason: message.stop_reason,
  };
} catch (err) {
  out = {
    ok: false,
    error_name: err?.name ?? typeof err,
    status: err?.status ?? null,
    message: String(err?.message ?? err).slice(0, 2000),
  };
}
process.stdout.write(JSON.stringify(out) + '\n');
