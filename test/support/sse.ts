// A GraphQL-over-SSE client (Yoga's native transport): POST the subscription
// with Accept: text/event-stream and read `next` events until `complete`.
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";

export interface SseSubscription<Item> {
  /** Resolves with every payload once the server completes the stream. */
  done: Promise<Item[]>;
  /** Payloads received so far. */
  received: Item[];
  close(): void;
}

function parseEvent(block: string): { event: string; data: string } {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  return { event, data: data.join("\n") };
}

/** `pick` selects the item to keep from each payload's data (e.g. the subscription field). */
export function subscribe<Data, Variables, Item>(
  graphqlUrl: string,
  token: string,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  pick: (data: Data) => Item,
): SseSubscription<Item> {
  const controller = new AbortController();
  const received: Item[] = [];
  const done = (async () => {
    const response = await fetch(graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(document), variables }),
      signal: controller.signal,
    });
    if (!response.ok || !response.body) throw new Error(`subscription failed: HTTP ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let boundary = buffer.indexOf("\n\n");
      while (boundary !== -1) {
        const { event, data } = parseEvent(buffer.slice(0, boundary));
        buffer = buffer.slice(boundary + 2);
        if (event === "complete") return received;
        if (event === "next") {
          const payload = JSON.parse(data) as { data?: Data; errors?: unknown[] };
          if (payload.errors) throw new Error(`subscription errors: ${JSON.stringify(payload.errors)}`);
          received.push(pick(payload.data as Data));
        }
        boundary = buffer.indexOf("\n\n");
      }
    }
    return received;
  })();
  return { done, received, close: () => controller.abort() };
}
