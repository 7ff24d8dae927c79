# Pantheon API image: Node 20 runs src/server.ts through tsx, exactly as `npm start` does.
# Both stages use the same base image; the tag matches .nvmrc.

# Build stage: every dependency, to generate the Prisma client and the Pothos types.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies' install scripts stay off (as with npm 11 on the dev machines): none is needed,
# and @prisma/engines' would download native engines the wasm path never uses.
RUN npm ci --ignore-scripts --no-audit --no-fund
# prisma.config.ts loads src/db/migrationAdapter.ts, so generate needs the sources.
COPY prisma.config.ts tsconfig.json ./
COPY prisma ./prisma
COPY src ./src
RUN npm run prisma:generate

# Runtime stage: production dependencies, the sources and the generated client.
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production \
    LEDGER_BUFFER_DIR=/data/ledger-buffer \
    EMBEDDED_DATA_DIR=/data/pglite
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# prisma.config.ts and prisma/ serve `npx prisma migrate deploy` (the pre-deploy command);
# the migration gate reads prisma/migrations at run time.
COPY prisma.config.ts tsconfig.json ./
COPY prisma ./prisma
COPY src ./src
COPY --from=build /app/src/generated ./src/generated
# The ledger's disk buffer must outlive the container: mount a volume at /data (no VOLUME
# instruction, because Railway rejects it; its volumes are attached in the service settings).
RUN mkdir -p /data/ledger-buffer && chown -R node:node /data
USER node
EXPOSE 4000
CMD ["node", "--max-semi-space-size=32", "--import", "tsx", "src/server.ts"]
