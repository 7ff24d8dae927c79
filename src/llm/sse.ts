// Splits a text/event-stream body into the `data:` payloads of its events.
// Comment lines (": keep-alive", OpenRouter's ": OPENROUTER PROCESSING") are skipped.
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, "\n");
    let boundary = buffer.indexOf("\n\n");
    while (boundary !== -1) {
      const data = dataOf(buffer.slice(0, boundary));
      buffer = buffer.slice(boundary + 2);
      if (data !== null) yield data;
      boundary = buffer.indexOf("\n\n");
    }
  }
  const rest = dataOf(buffer + decoder.decode());
  if (rest !== null) yield rest;
}

function dataOf(event: string): string | null {
  const lines = event.split("\n").filter((line) => line.startsWith("data:"));
  if (lines.length === 0) return null;
  return lines.map((line) => line.slice(5).replace(/^ /, "")).join("\n");
}
