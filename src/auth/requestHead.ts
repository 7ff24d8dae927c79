// What the API reads of an HTTP request beyond its GraphQL parameters: its
// headers (credentials, origin). A Fetch API Request is one; so is the light
// view of Node's request that src/http/directJson.ts builds instead.
export interface RequestHead {
  readonly headers: { get(name: string): string | null };
}
