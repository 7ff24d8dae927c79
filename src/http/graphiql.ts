// GraphiQL served with its assets inlined (no CDN), pre-filled with how to
// get and send an access token.
import type { GraphiQLOptions } from "graphql-yoga";
import type { AppConfig } from "../config/env.ts";

const DEVELOPMENT_HELP = `# Most fields need a signed-in user. In development, get a token with
#
#   npm run token -- --user alice
#
# and put it in the Headers tab below:`;

const PRODUCTION_HELP = `# Most fields need a signed-in user: put your Supabase access token in the
# Headers tab below:`;

const QUERY = `query Viewer {
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

function defaultQuery(config: AppConfig): string {
  const help = config.isProduction ? PRODUCTION_HELP : DEVELOPMENT_HELP;
  return `# Pantheon API\n#\n${help}\n#   { "Authorization": "Bearer <token>" }\n# (an empty Authorization header means signed out).\n\n${QUERY}`;
}

export function graphiqlOptions(config: AppConfig): GraphiQLOptions {
  return {
    title: "Pantheon API",
    defaultQuery: defaultQuery(config),
    headers: JSON.stringify({ Authorization: "" }, null, 2),
  };
}
