// Holds the state of every gate and decides whether DB-backed fields may run.
// Gate A (migrations) is re-checked on an interval while closed, on demand,
// and after a DB-backed request fails with a schema error.
export type GateName = "env" | "migrations" | "routing" | "keyRotation";

export interface GateState {
  gate: GateName;
  ok: boolean;
  reasons: string[];
  checkedAt: Date | null;
}

export type GateCheck = () => Promise<string[]>;

export interface Readiness {
  /** Gate A as last checked; never touches the database. */
  migrations(): GateState;
  /** Runs Gate A now (once at a time) and returns its state. */
  recheckMigrations(): Promise<GateState>;
  /** Called when a DB-backed request failed in a way that suggests the schema changed. */
  reportSchemaError(): void;
  gates(): GateState[];
  stop(): void;
}

export interface ReadinessOptions {
  checkMigrations: GateCheck;
  recheckMs: number;
  /** Other gate states (env, routing, key rotation), computed by their owners. */
  otherGates?: () => GateState[];
}

export class ReadinessMonitor implements Readiness {
  private state: GateState = { gate: "migrations", ok: false, reasons: ["not checked yet"], checkedAt: null };
  private inflight: Promise<GateState> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ReadinessOptions) {}

  /** First check, then keep re-checking while closed. */
  async start(): Promise<GateState> {
    const state = await this.recheckMigrations();
    this.schedule();
    return state;
  }

  migrations(): GateState {
    return this.state;
  }

  recheckMigrations(): Promise<GateState> {
    this.inflight ??= this.runCheck().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  reportSchemaError(): void {
    void this.recheckMigrations().then(() => this.schedule());
  }

  gates(): GateState[] {
    return [this.state, ...(this.options.otherGates?.() ?? [])];
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async runCheck(): Promise<GateState> {
    let reasons: string[];
    try {
      reasons = await this.options.checkMigrations();
    } catch (error) {
      reasons = [`database unreachable: ${describeConnectionError(error)}`];
    }
    this.state = { gate: "migrations", ok: reasons.length === 0, reasons, checkedAt: new Date() };
    return this.state;
  }

  private schedule(): void {
    if (this.timer || this.state.ok) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.recheckMigrations().then(() => this.schedule());
    }, this.options.recheckMs);
    this.timer.unref();
  }
}

/** A connection failure's class, never its message (which may carry a URL with a password). */
function describeConnectionError(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  return code ? `connection failed (${code})` : "connection failed";
}
