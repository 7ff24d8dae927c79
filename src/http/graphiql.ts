// GraphiQL served with its assets inlined (no CDN), pre-filled with how to
// get and send a development token.
import type { GraphiQLOptions } from "graphql-yoga";

const DEFAULT_QUERY = `# Pantheon API
#
# Most fields need a signed-in user. In development, get a token with
#
#   npm run token -- --user alice
#
# and put it in the Headers tab below:
#   { "Authorization": "Bearer <token>" }
# (an empty Authorization header means signed out).

query Viewer {
  viewer {
    id
    admitted
  }
  rooms(first: 10) {
    edges {
      node {
        id
        name
        currentMode
        agents {
          agentKey
          name
        }
      }
    }
  }
}
`;

export function graphiqlOptions(): GraphiQLOptions {
  return {
    title: "Pantheon API",
    defaultQuery: DEFAULT_QUERY,
    headers: JSON.stringify({ Authorization: "" }, null, 2),
  };
}
