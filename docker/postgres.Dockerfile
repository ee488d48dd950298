# PostgreSQL 15 from Debian on the local debootstrap'ed base (no image registry), for
# docker-compose.yml. Built by docker/build-images.sh (context: docker/).
# Runs as `postgres`; data in /var/lib/postgresql/data (a named volume). postgres-entrypoint.sh
# creates the cluster on first start and the roles/databases named in the environment.
ARG BASE=epbatch-base:bookworm
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && pg_dropcluster 15 main \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc /usr/share/man \
        /usr/share/locale/* \
    && install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data \
    && install -d -o postgres -g postgres /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
