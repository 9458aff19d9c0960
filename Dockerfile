# One image for every citybrain role (worker, simulator, dashboard, migrate).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY citybrain ./citybrain
COPY config ./config
RUN pip install --no-cache-dir ".[server]"
ENV CITYBRAIN_CONFIG_DIR=/app/config
ENTRYPOINT ["citybrain"]
