# One image for the worker, the replay producer and the tools.
FROM python:3.11-slim

# Installed from constraints.txt (`make lock`: the versions the test suite passed
# with), so the image has the scikit-learn its models were trained with: a newer
# minor version would refuse every stored model.
WORKDIR /app
COPY constraints.txt pyproject.toml README.md LICENSE ./
COPY streamscore ./streamscore
COPY streams ./streams
COPY models ./models
COPY producers ./producers
RUN pip install --no-cache-dir -c constraints.txt ".[zstd,snappy]" \
 && useradd --create-home --uid 10001 --user-group streamscore \
 && mkdir -p /registry /data \
 && chown streamscore:streamscore /registry /data

# Not root: a bind-mounted registry must be writable by uid 10001 (or run the
# container with --user "$(id -u)").
USER streamscore
WORKDIR /home/streamscore
# kafka:19092 is the broker's listener on the compose network (docker-compose.yml).
ENV STREAMSCORE_BOOTSTRAP_SERVERS=kafka:19092 \
    STREAMSCORE_WEB_HOST=0.0.0.0 \
    STREAMSCORE_WEB_PORT=6066 \
    STREAMSCORE_REGISTRY_PATH=/registry \
    STREAMSCORE_DATA_DIR=/home/streamscore/worker-data
EXPOSE 6066

# A worker is healthy while its event loop answers /health; other commands run
# from this image (replay, topics) have no web endpoint: compose disables the check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('STREAMSCORE_WEB_PORT', '6066'), timeout=4)" || exit 1

ENTRYPOINT ["streamscore"]
CMD ["--help"]
