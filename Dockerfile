# syntax=docker/dockerfile:1
# meanserve: one image for the API (the default command) and for BullMQ workers
# (command: node dist/src/jobs/worker-main.js). CPU only: see docs/operations.md for GPU hosts.

# ---- build: install, compile TypeScript, drop dev dependencies ----
FROM node:22-bookworm-slim AS build
WORKDIR /app

# onnxruntime-node's install script would download the CUDA provider binaries; this image is CPU only.
# package.json's allowScripts keeps npm 11 from running it at all; the image's npm (10, with Node 22) does
# not read allowScripts, so the script is told to skip through its own environment variable as well.
ARG ONNXRUNTIME_NODE_INSTALL=skip
# hnswlib-node and better-sqlite3 (the inline job queue's store) compile their C++ addons with node-gyp at
# install time (better-sqlite3's prebuilt download is not reachable from every build network).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsconfig.json has rootDir '.' and outDir 'dist', so the build lands in dist/src/...
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32

# ---- runtime ----
FROM node:22-bookworm-slim
WORKDIR /app

# The full Fashion-MNIST dataset (Debian's package, ~30 MB) for collections.index jobs over the train and
# test splits; the 2 000-image demo subset ships in models/ either way.
RUN apt-get update \
 && apt-get install -y --no-install-recommends dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*

# The app reads configuration from these variables only (NODE_ENV is not used).
ENV PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    MODELS_DIR=/app/models \
    FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist

# package.json carries "type": "module", which makes the compiled dist/**/*.js ES modules. The
# compiled build starts its worker threads from dist/src/models/inference-worker.js and
# dist/src/retrieval/embedding/image-decode-thread.js, and child processes from
# dist/src/jobs/job-process-entry.js (jobs), dist/src/models/repository/graph-inspection-process.js
# (one per model upload) and dist/src/models/inference-worker.js (one per loaded upload, started by
# /bin/sh under its memory limit), so dist/ is copied whole. Code and models stay root-owned
# (read-only to the app); only /data and /model-repository (uploaded models, MODEL_REPOSITORY_DIR when
# replicas share it as a volume) are writable.
COPY package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY models ./models
# The browser pages' scripts and stylesheet (/jobs, /meanflow), served as they are.
COPY web ./web
RUN mkdir -p /data /model-repository && chown node:node /data /model-repository

USER node
EXPOSE 8080

# Ready = every model loaded, no collection damaged and the job queue reachable (Redis, when REDIS_URL is set).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# Exec form: node is the process that receives SIGTERM and drains (see src/server/main.ts).
CMD ["node", "dist/src/server/main.js"]
