// Holds the state of every gate. Gate A (migrations) decides whether
// DB-backed fields may run; gates that read tables run only once it passes.
// All gates are re-checked on an interval (short while not ready), on demand,
// and after a DB-backed request fails with a schema error.
import { isTransientDatabaseError } from "../db/transientErrors.ts";

export type GateName = "env" | "migrations" | "routing" | "keyRotation";

export interface GateState {
  gate: GateName;
  ok: boolean;
  /** Whether /readyz requires this gate at the configured stage. */
  required: boolean;
  reasons: string[];
  checkedAt: Date | null;
}

export interface GateDefinition {
  gate: Exclude<GateName, "env" | "migrations">;
  required: () => boolean;
  check: () => Promise<string[]>;
}

export interface Readiness {
  /** Gate A as last checked; never touches the database. */
  migrations(): GateState;
  gate(name: GateName): GateState;
  gates(): GateState[];
  /** Every gate required at the configured stage passes, and the instance is not shutting down. */
  isReady(): boolean;
  /** From now on not ready: the instance is shutting down (SIGTERM) and its traffic moves to the others. */
  beginShutdown(): void;
  isShuttingDown(): boolean;
  /** Runs every check now (one run at a time) and returns the states. */
  recheck(): Promise<GateState[]>;
  /** Called when a DB-backed request failed in a way that suggests the schema changed. */
  reportSchemaError(): void;
  stop(): void;
}

export interface ReadinessOptions {
  checkMigrations: () => Promise<string[]>;
  /** Gates that read tables; they run once Gate A passes. */
  dependentGates: GateDefinition[];
  /** Interval while not ready. */
  recheckMs: number;
  /** Interval while ready (picks up recorded rotations and settings). */
  refreshMs: number;
}

const ENV_GATE: GateState = { gate: "env", ok: true, required: true, reasons: [], checkedAt: new Date() };

const pending = (gate: GateName, required: boolean, reason: string): GateState => ({ gate, ok: false, required, reasons: [reason], checkedAt: null });

export class ReadinessMonitor implements Readiness {
  private states = new Map<GateName, GateState>();
  private inflight: Promise<GateState[]> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private shuttingDown = false;

  constructor(private readonly options: ReadinessOptions) {
    this.states.set("env", ENV_GATE);
    this.states.set("migrations", pending("migrations", true, "not checked yet"));
    for (const definition of options.dependentGates) {
      this.states.set(definition.gate, pending(definition.gate, definition.required(), "not checked yet"));
    }
  }

  async start(): Promise<GateState[]> {
    const states = await this.recheck();
    this.schedule();
    return states;
  }

  migrations(): GateState {
    return this.gate("migrations");
  }

  gate(name: GateName): GateState {
    return this.states.get(name) ?? pending(name, false, "unknown gate");
  }

  gates(): GateState[] {
    return [...this.states.values()];
  }

  isReady(): boolean {
    return !this.shuttingDown && this.gates().every((state) => state.ok || !state.required);
  }

  beginShutdown(): void {
    this.shuttingDown = true;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  recheck(): Promise<GateState[]> {
    this.inflight ??= this.runChecks().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  reportSchemaError(): void {
    void this.recheck().then(() => this.schedule(true));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async runChecks(): Promise<GateState[]> {
    const migrations = await this.runGate("migrations", true, this.options.checkMigrations);
    for (const definition of this.options.dependentGates) {
      const required = definition.required();
      if (migrations.ok) await this.runGate(definition.gate, required, definition.check);
      else this.states.set(definition.gate, pending(definition.gate, required, "waits for the migration gate"));
    }
    return this.gates();
  }

  private async runGate(gate: GateName, required: boolean, check: () => Promise<string[]>): Promise<GateState> {
    let reasons: string[];
    try {
      reasons = await check();
    } catch (error) {
      // A dropped connection says nothing about migrations or rotations: an open gate stays open
      // (requests meet the outage themselves, typed DATABASE_UNAVAILABLE) and serves the moment the database is back.
      const previous = this.states.get(gate);
      if (previous?.ok && isTransientDatabaseError(error)) return previous;
      reasons = [`check failed: ${describeError(error)}`];
    }
    const state = { gate, ok: reasons.length === 0, required, reasons, checkedAt: new Date() };
    this.states.set(gate, state);
    return state;
  }

  private schedule(reset = false): void {
    if (this.stopped) return;
    if (this.timer && !reset) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = this.isReady() ? this.options.refreshMs : this.options.recheckMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.recheck().then(() => this.schedule());
    }, delay);
    this.timer.unref();
  }
}

/** An error's class and code, never its message (which may carry a URL with a password). */
function describeError(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  if (["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "ECONNRESET", "57P03", "3D000", "28P01"].includes(code)) {
    return `database unreachable (${code})`;
  }
  return code ? `database error ${code}` : "database unreachable";
}
