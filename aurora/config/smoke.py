"""The ``[smoke]`` table: where `aurora smoke --kube` asks a clustered app for its members and an
app with a database for a query, and how long it waits for each."""

from __future__ import annotations

from pydantic import Field

from aurora.config.fields import Model, UrlPath


class Smoke(Model):
    """What `aurora smoke --kube` checks beyond the web server and the health path."""

    cluster_path: UrlPath = Field("/api/cluster", description="Clustered apps: a GET path of the back end (through the web port) answering JSON with `members`, the count the cluster manager sees; every node must report all of them.")
    db_path: UrlPath = Field("/api/db", description="Apps with [kube.database]: a GET path of the back end that queries the database and answers 200 only when it can.")
    join_timeout: int | None = Field(None, ge=1, le=3600, description="Seconds each node gets to see every member; default: the cluster manager's documented join timeout (Hazelcast's hazelcast.max.join.seconds: the app's hazelcast.xml value, else 300).")
    db_timeout: int = Field(60, ge=1, le=600, description="Seconds each node gets for a 200 from db_path (an answer repeated three times in a row ends the wait).")
