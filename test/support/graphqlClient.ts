// Posts a codegen-typed document over real HTTP, as a frontend would.
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";

export interface GraphQLResponse<Data> {
  status: number;
  data?: Data | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface GraphQLClient {
  <Data, Variables extends Record<string, unknown>>(
    document: TypedDocumentNode<Data, Variables>,
    variables?: Variables,
  ): Promise<GraphQLResponse<Data>>;
}

export function graphqlClient(graphqlUrl: string, token?: string, extraHeaders: Record<string, string> = {}): GraphQLClient {
  return async (document, variables) => {
    const response = await fetch(graphqlUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...extraHeaders,
      },
      body: JSON.stringify({ query: print(document), variables: variables ?? {} }),
    });
    const body = (await response.json()) as Omit<GraphQLResponse<never>, "status">;
    return { status: response.status, ...body } as never;
  };
}

/** The data of a response that must have succeeded. */
export function dataOf<Data>(response: GraphQLResponse<Data>): Data {
  if (response.errors?.length || !response.data) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data;
}

export function errorCodes(response: GraphQLResponse<unknown>): unknown[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}
