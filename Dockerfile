# TrainOps bot and workers. The trainer itself runs on the GPU VMs, so this image holds
# no torch: it ships `python/` to each VM over SSH before a run.
#
#   docker build -t trainops .
#   docker run --env-file trainops.env -v $PWD/config/trainops.yaml:/app/config/trainops.yaml:ro \
#     -v $HOME/.ssh/trainops_ed25519:/home/node/.ssh/trainops_ed25519:ro trainops all

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    TRAINOPS_CONFIG=/app/config/trainops.yaml
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY python ./python
COPY config/trainops.example.yaml config/trainops.schema.json ./config/
USER node
ENTRYPOINT ["node", "bin/trainops.mjs"]
CMD ["all"]
