// The Vercel AI SDK (npm `ai` + `@ai-sdk/openai`) on its defaults against the gateway: `openai(model)` is
// the Responses API, `store` unset (OpenAI's default: true), so turns after a reasoning answer send the
// earlier items back as `item_reference`. Run by tests/e2e/test_vercel_ai_sdk.py:
//
//   OB1GW_BASE_URL=http://127.0.0.1:PORT/v1 OB1GW_KEY=... node conversation.mjs <scenario> [model]
//
// scenario: `two-turns` (generateText twice, the second call with the first turn's messages appended),
// `tool-loop` (a tool with an execute function, up to 5 steps, then a follow-up turn); with `-stream`,
// streamText; `two-turns-unstored`: two-turns with the one option a user sets to keep nothing,
// providerOptions `{openai: {store: false}}`.
// Prints one JSON document:
// {"turns": [{text, finishReason, steps, responseIds, reasoning, toolResults, warnings}],
//  "requests": [{method, path, query, headers, status, body, response?}], "error": null | {name, message,
//  statusCode, responseBody}}. Every HTTP request the SDK made is recorded by a fetch wrapper (the provider's
// own `fetch` option, which changes nothing it sends), so the test sees what the SDK sent and what it got
// back (`response`: the body of a non-2xx answer); credentials are recorded as <redacted>.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const [scenario, modelId = "gpt-5.1"] = process.argv.slice(2);
const requests = [];
const SECRET_HEADERS = new Set(["authorization", "x-api-key", "cookie", "proxy-authorization"]);

async function recordingFetch(input, init = {}) {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  const headers = {};
  for (const [name, value] of new Headers(init.headers ?? {})) {
    headers[name] = SECRET_HEADERS.has(name) ? "<redacted>" : value;
  }
  const query = Object.fromEntries([...url.searchParams.keys()].map((k) => [k, url.searchParams.getAll(k)]));
  const entry = { method: init.method ?? "GET", path: url.pathname, query, headers, status: null, body: null };
  if (typeof init.body === "string") {
    try {
      entry.body = JSON.parse(init.body);
    } catch {
      entry.body = init.body;
    }
  }
  requests.push(entry);
  const response = await fetch(input, init);
  entry.status = response.status;
  if (!response.ok) entry.response = await response.clone().text();
  return response;
}

const openai = createOpenAI({
  baseURL: process.env.OB1GW_BASE_URL,
  apiKey: process.env.OB1GW_KEY,
  fetch: recordingFetch,
});
const model = openai(modelId);

const weather = tool({
  description: "The current weather in a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, forecast: `sunny-42 in ${city}` }),
});

function summary(text, finishReason, steps) {
  return {
    text,
    finishReason,
    steps: steps.length,
    responseIds: steps.map((s) => s.response.id),
    reasoning: steps.flatMap((s) => s.reasoning ?? []).map((r) => r.text),
    toolResults: steps.flatMap((s) => s.toolResults ?? []).map((r) => r.output),
    warnings: steps.flatMap((s) => s.warnings ?? []),
  };
}

// One call; `messages` for the next turn are `responseMessages`, every step's (ai 7: `response.messages` is
// deprecated and holds only the last step's, which after a tool loop would drop the call and its result).
const stored = scenario.includes("-unstored") ? { providerOptions: { openai: { store: false } } } : {};

async function turn(messages, extra = {}) {
  extra = { ...stored, ...extra };
  if (scenario.endsWith("-stream")) {
    let failure = null;
    const result = streamText({ model, messages, ...extra, onError: ({ error }) => (failure = error) });
    let text;
    try {
      text = await result.text;
    } catch (caught) {
      throw failure ?? caught; // the API error itself, not "No output generated"
    }
    if (failure) throw failure;
    const [finishReason, steps, responseMessages] = await Promise.all([
      result.finishReason,
      result.steps,
      result.responseMessages,
    ]);
    return { answer: summary(text, finishReason, steps), messages: responseMessages };
  }
  const result = await generateText({ model, messages, ...extra });
  return { answer: summary(result.text, result.finishReason, result.steps), messages: result.responseMessages };
}

const turns = [];
let error = null;
try {
  if (scenario.startsWith("two-turns")) {
    const history = [{ role: "user", content: "What is the capital of Norway?" }];
    const first = await turn(history);
    turns.push(first.answer);
    history.push(...first.messages, { role: "user", content: "And of Sweden?" });
    const second = await turn(history);
    turns.push(second.answer);
  } else if (scenario === "tool-loop" || scenario === "tool-loop-stream") {
    const history = [{ role: "user", content: 'Check the weather. USE_TOOL weather {"city": "Oslo"}' }];
    const options = { tools: { weather }, stopWhen: stepCountIs(5) };
    const loop = await turn(history, options);
    turns.push(loop.answer);
    history.push(...loop.messages, { role: "user", content: "Thanks!" });
    const followUp = await turn(history, options);
    turns.push(followUp.answer);
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
} catch (caught) {
  error = {
    name: caught?.name,
    message: String(caught?.message ?? caught),
    statusCode: caught?.statusCode,
    responseBody: caught?.responseBody,
  };
}
process.stdout.write(JSON.stringify({ turns, requests, error }, null, 2) + "\n");
