// The turns benchmark's baseline: the rows of a 3-agent turn written by plain
// `pg`, one transaction per turn (a turn, its user message, and per agent a
// step, a ledger row, a message and a context audit; the ledger rows fire the
// same debit and usage triggers as the server's). Shared by bench/turns.ts
// (turns/s) and bench/pgInstructions.ts (PostgreSQL's instructions per turn).
import { randomUUID } from "node:crypto";
import type pg from "pg";

export const BASELINE_AGENTS = 3;

const BASELINE_TURN = [
  `INSERT INTO turns (id, session_id, user_id, seq, status, mode, roster_snapshot, user_content, updated_at)
   VALUES ($1, $2, $3, (SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE session_id = $2), 'running', 'roundtable', '[]', 'How should we launch?', now())`,
  `INSERT INTO messages (id, session_id, turn_id, role, content, updated_at) VALUES (gen_random_uuid(), $1, $2, 'user', 'How should we launch?', now())`,
];

export async function baselineTurn(client: pg.ClientBase, user: { userId: string; sessionId: string; roomId: string }) {
  const turnId = randomUUID();
  await client.query("BEGIN");
  await client.query(BASELINE_TURN[0]!, [turnId, user.sessionId, user.userId]);
  await client.query(BASELINE_TURN[1]!, [user.sessionId, turnId]);
  for (let seq = 1; seq <= BASELINE_AGENTS; seq++) {
    const stepId = randomUUID();
    await client.query(`INSERT INTO turn_steps (id, turn_id, seq, kind, model_alias, status, output, completed_at, updated_at) VALUES ($1, $2, $3, 'agent', 'qwen', 'completed', 'answer', now(), now())`, [stepId, turnId, seq]);
    await client.query(
      `INSERT INTO llm_call_events (id, user_id, room_id, session_id, turn_id, step_id, provider, model_alias, provider_model, input_tokens_fresh, input_tokens_cached, output_tokens, total_tokens, oe_tokens_computed, provider_cost_usd, credits_burned, latency_ms, status, pricing_version, request_id, call_kind, turn_mode)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, 'local', 'qwen', 'qwen/qwen3-235b-a22b', 100, 0, 20, 120, 55, 0, 0.0028, 0, 'success', '2026-02-20', gen_random_uuid()::text, 'agent', 'roundtable')`,
      [user.userId, user.roomId, user.sessionId, turnId, stepId],
    );
    await client.query(`INSERT INTO messages (id, session_id, turn_id, step_id, role, content, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, 'agent', 'answer', now())`, [user.sessionId, turnId, stepId]);
    await client.query(
      `INSERT INTO turn_context_audit (id, turn_id, step_id, model_alias, context_limit, output_reserve, overhead_reserve, input_budget, estimate_before, estimate_after_summary, estimate_after_prune, summarized, pruned, overflow, updated_at)
       VALUES (gen_random_uuid(), $1, $2, 'qwen', 40960, 2048, 2048, 36864, 100, 100, 100, false, false, false, now())`,
      [turnId, stepId],
    );
  }
  await client.query(`UPDATE turns SET status = 'completed', completed_at = now() WHERE id = $1`, [turnId]);
  await client.query("COMMIT");
}
