// Low-balance webhooks (SPEC 13): with ALERT_WEBHOOK_URL set, every instance
// sends due wallet events, each claimed by one instance at a time (FOR UPDATE
// SKIP LOCKED, then a lease longer than the request's timeout). A POST is
// signed with HMAC-SHA256 over "<timestamp>.<body>" (ALERT_WEBHOOK_SECRET);
// a failure is retried with exponential backoff up to maxAttempts. Delivery
// is at least once (an instance that dies mid-request leaves the event to be
// sent again after its lease): receivers deduplicate on X-Pantheon-Event-Id.
import { createHmac } from "node:crypto";
import type pg from "pg";
import { logger, errorFields } from "../observability/logger.ts";
import type { WalletWebhookConfig } from "../config/credits.ts";
import { queryRows, sql } from "../db/sql.ts";
import { WALLET_EVENT_COLUMNS, type WalletEventRecord } from "./walletEventRows.ts";

const MAX_BACKOFF_MS = 15 * 60_000;
const CLAIM_BATCH = 20;
/** Events that could not be sent for this long are given up on (a webhook configured later does not flood its receiver with old news). */
const MAX_EVENT_AGE = "3 days";

type ClaimedEvent = WalletEventRecord & { attempts: number };

export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export function webhookBody(event: WalletEventRecord): string {
  return JSON.stringify({
    id: event.id,
    type: `wallet.${event.kind}`,
    createdAt: event.createdAt.toISOString(),
    data: { userId: event.userId, balance: event.balance, threshold: event.threshold, plan: event.plan },
  });
}

export function retryDelayMs(config: Pick<WalletWebhookConfig, "retryBaseMs">, attempts: number): number {
  const delay = Math.min(MAX_BACKOFF_MS, config.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(delay * (0.9 + Math.random() * 0.2));
}

export class WalletWebhookSender {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly deps: { pool: pg.Pool; config: WalletWebhookConfig }) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sendDue()
        .catch((error: unknown) => logger.warn({ component: "walletWebhook", ...errorFields(error) }, "wallet webhook round failed; retrying"))
        .finally(() => (this.running = null));
    }, this.deps.config.pollMs);
    this.timer.unref();
  }

  /** Stops claiming; a delivery in flight finishes (or its lease lets another instance send it). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round: claims the due events and sends each once. */
  async sendDue(): Promise<void> {
    const { pool, config } = this.deps;
    await queryRows(
      pool,
      sql`UPDATE wallet_events SET webhook_failed_at = now(), webhook_last_error = ${`not sent within ${MAX_EVENT_AGE}`}
           WHERE webhook_delivered_at IS NULL AND webhook_failed_at IS NULL AND webhook_next_at <= now() AND created_at < now() - ${MAX_EVENT_AGE}::interval`,
    );
    const leaseMs = config.timeoutMs + 5_000;
    const rows = await queryRows<ClaimedEvent>(
      pool,
      sql`UPDATE wallet_events e SET webhook_attempts = e.webhook_attempts + 1, webhook_next_at = now() + ${leaseMs} * interval '1 millisecond'
           WHERE e.id IN (SELECT id FROM wallet_events
                           WHERE webhook_delivered_at IS NULL AND webhook_failed_at IS NULL AND webhook_next_at <= now()
                           ORDER BY webhook_next_at LIMIT ${CLAIM_BATCH} FOR UPDATE SKIP LOCKED)
          RETURNING ${WALLET_EVENT_COLUMNS}, e.webhook_attempts AS attempts`,
    );
    await Promise.all(rows.map((event) => this.send(event)));
  }

  private async send(event: ClaimedEvent): Promise<void> {
    const { pool, config } = this.deps;
    const body = webhookBody(event);
    const timestamp = Math.floor(Date.now() / 1000).toString();
    let failure: string | null;
    try {
      const response = await fetch(config.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-pantheon-event-id": event.id,
          "x-pantheon-timestamp": timestamp,
          "x-pantheon-signature": webhookSignature(config.secret, timestamp, body),
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      await response.body?.cancel();
      failure = response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      failure = error instanceof Error && error.name === "TimeoutError" ? "timed out" : "connection failed";
    }
    if (failure === null) {
      await queryRows(pool, sql`UPDATE wallet_events SET webhook_delivered_at = now(), webhook_last_error = NULL WHERE id = ${event.id}::bigint`);
      return;
    }
    const givingUp = event.attempts >= config.maxAttempts;
    logger.warn({ component: "walletWebhook", eventId: event.id, attempt: event.attempts, failure, givingUp }, "wallet webhook not delivered");
    await queryRows(
      pool,
      givingUp
        ? sql`UPDATE wallet_events SET webhook_failed_at = now(), webhook_last_error = ${failure} WHERE id = ${event.id}::bigint`
        : sql`UPDATE wallet_events SET webhook_next_at = now() + ${retryDelayMs(config, event.attempts)} * interval '1 millisecond', webhook_last_error = ${failure} WHERE id = ${event.id}::bigint`,
    );
  }
}
