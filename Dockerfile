# stockpipe in a container: a build stage compiles TypeScript (and better-sqlite3's native addon),
# the runtime stage has only production dependencies and runs as a non-root user.
# Not built on the development machine (no Docker engine there); kept deliberately plain.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY tools ./tools
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production STOCKPIPE_WORKSPACE=/data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["node", "dist/bin/main.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
