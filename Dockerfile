# One image for the worker, the replay producer and the monitor.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streamscore ./streamscore
COPY streams ./streams
COPY models ./models
COPY producers ./producers
RUN pip install --no-cache-dir .
ENV STREAMSCORE_BOOTSTRAP_SERVERS=kafka:9092 \
    STREAMSCORE_WEB_HOST=0.0.0.0 \
    STREAMSCORE_REGISTRY_PATH=/registry
ENTRYPOINT ["streamscore"]
CMD ["--help"]
