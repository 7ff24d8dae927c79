// What the gateway is asked and what one provider call reports back.
import type { ModelAliasName } from "./models.ts";

export type ChatRole = "system" | "user" | "assistant";

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Ledger `call_kind`: what a call was for. */
export type CallKind = "agent" | "manager_route" | "repair" | "manager_continue" | "synthesis" | "summary";

/** A JSON schema the output must conform to (sent as response_format json_schema). */
export interface StructuredOutput {
  name: string;
  schema: Record<string, unknown>;
}

export interface LlmRequest {
  modelAlias: ModelAliasName;
  messages: ChatMessage[];
  callKind: CallKind;
  maxOutputTokens: number;
  structured?: StructuredOutput;
  /** Receives content chunks as they stream in. */
  onDelta?: (chunk: string) => void;
  /** Aborts the call (a cancelled or timed-out turn): it returns with status "cancelled" and what streamed so far. */
  signal?: AbortSignal;
}

/** Ledger `status` values. */
export type CallStatus = "success" | "error" | "timeout" | "rate_limited" | "invalid_response" | "cancelled";

export interface ReportedUsage {
  promptTokens: number;
  /** Undefined when the provider reported no cached-token figure. */
  cachedTokens: number | undefined;
  completionTokens: number;
  /** Undefined when the provider did not report a total. */
  totalTokens: number | undefined;
  /** Provider-reported cost in USD as a decimal string; undefined when not reported. */
  costUsd: string | undefined;
}

/** One provider call, successful or not: exactly one ledger row each. */
export interface ProviderAttempt {
  provider: "openrouter" | "local";
  modelAlias: ModelAliasName;
  providerModel: string;
  callKind: CallKind;
  status: CallStatus;
  text: string;
  usage: ReportedUsage;
  requestId: string | null;
  latencyMs: number;
  /** Safe for logs and users: never contains keys. */
  errorMessage: string | null;
  /** Whether the gateway may try again (429, 5xx, network error before any content). */
  retryable: boolean;
  /** Seconds the provider asked us to wait (Retry-After), if any. */
  retryAfterSeconds: number | null;
}

export const ZERO_USAGE: ReportedUsage = {
  promptTokens: 0,
  cachedTokens: undefined,
  completionTokens: 0,
  totalTokens: undefined,
  costUsd: undefined,
};

export interface LlmProvider {
  readonly name: "openrouter" | "local";
  call(request: LlmRequest): Promise<ProviderAttempt>;
}
