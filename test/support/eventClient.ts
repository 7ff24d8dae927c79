// A turnEvents client as a frontend writes one: it keeps every event, and
// when the stream ends with an error (a server shutting down) it keeps that
// error too, so the test can resume elsewhere.
import { print } from "graphql";
import { TurnEventsDocument, type TurnEventsSubscription } from "../generated/graphql.ts";

export type StreamedEvent = TurnEventsSubscription["turnEvents"];

export interface StreamEnd {
  events: StreamedEvent[];
  /** The error the stream ended with, if any (extensions included). */
  error: { message: string; extensions?: Record<string, unknown> } | null;
}

export interface EventStreamHandle {
  events: StreamedEvent[];
  done: Promise<StreamEnd>;
}

export function streamTurnEvents(graphqlUrl: string, token: string, turnId: string, afterSequence = 0): EventStreamHandle {
  const events: StreamedEvent[] = [];
  const done = (async (): Promise<StreamEnd> => {
    const response = await fetch(graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(TurnEventsDocument), variables: { turnId, afterSequence } }),
    });
    if (!response.ok || !response.body) throw new Error(`subscription failed: HTTP ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    let error: StreamEnd["error"] = null;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let boundary = buffer.indexOf("\n\n"); boundary !== -1; boundary = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const event = /^event: (\w+)/m.exec(block)?.[1];
          const data = block.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart()).join("\n");
          if (event === "complete") return { events, error };
          if (event !== "next") continue;
          const payload = JSON.parse(data) as { data?: TurnEventsSubscription | null; errors?: StreamEnd["error"][] };
          if (payload.errors?.length) error = payload.errors[0]!;
          else if (payload.data) events.push(payload.data.turnEvents);
        }
      }
    } catch (cause) {
      // The server went away mid-stream.
      error ??= { message: cause instanceof Error ? cause.message : "stream cut" };
    }
    return { events, error };
  })();
  return { events, done };
}
