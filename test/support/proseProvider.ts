// A provider behind the loopback OpenRouter server that answers like a real
// one would for usage: English-like text of a chosen length, at most the
// request's max_tokens, counted at about 4 bytes per token both ways (prompt
// tokens from the request's bytes, completion tokens from the answer's).
// Lengths come from a seeded generator, so runs repeat.
import type { FakeCall, FakeReply } from "./fakeOpenRouter.ts";
import { callPurpose } from "./councilProvider.ts";
import { seededRandom } from "./seededRandom.ts";

const WORDS = "the council should weigh each option carefully before we decide how to launch a product that customers trust and return to every week".split(" ");
export const BYTES_PER_TOKEN = 4;

/** English-like text of about `tokens` tokens (4 bytes each). */
export function prose(tokens: number, seed = 1): string {
  const words: string[] = [];
  let length = 0;
  for (let index = seed; length < tokens * BYTES_PER_TOKEN; index++) {
    const word = WORDS[(index * 7) % WORDS.length]!;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(" ").slice(0, tokens * BYTES_PER_TOKEN);
}

export function promptTokensOf(call: FakeCall): number {
  return call.body.messages.reduce((sum, message) => sum + Math.ceil(Buffer.byteLength(message.content) / BYTES_PER_TOKEN) + 4, 0);
}

/** A seeded generator of answer lengths: mostly a few hundred tokens, sometimes long (a log-normal around `median`). */
export function answerLengths(median: number, seed = 20261206): () => number {
  const uniform = seededRandom(seed);
  return () => {
    const normal = Math.sqrt(-2 * Math.log(uniform() || 1e-9)) * Math.cos(2 * Math.PI * uniform());
    return Math.max(20, Math.round(median * Math.exp(0.6 * normal)));
  };
}

export interface ProseOptions {
  /** Completion tokens of an agent's or synthesis answer (capped at max_tokens). */
  answerTokens: (call: FakeCall) => number;
}

/** Structured calls answer valid JSON (routing: every agent once); the others prose of the chosen length. */
export function proseHandler(options: ProseOptions) {
  return (call: FakeCall): FakeReply => {
    const purpose = callPurpose(call);
    const maxTokens = Number(call.body.max_tokens);
    let content: string;
    if (purpose === "routing") {
      const schema = call.body.response_format!.json_schema.schema as { properties: { steps: { items: { properties: { agentKey: { enum: string[] } } } } } };
      content = JSON.stringify({ steps: schema.properties.steps.items.properties.agentKey.enum.map((agentKey) => ({ agentKey, instruction: "help" })), rationale: "everyone" });
    } else if (purpose === "summary") {
      content = JSON.stringify({ summary_text: prose(80), key_facts: [], open_questions: [], decisions: [], action_items: [] });
    } else {
      content = prose(Math.min(maxTokens, options.answerTokens(call)));
    }
    const completion = Math.min(maxTokens, Math.ceil(Buffer.byteLength(content) / BYTES_PER_TOKEN));
    return { kind: "stream", content, usage: { prompt_tokens: promptTokensOf(call), completion_tokens: completion } };
  };
}
