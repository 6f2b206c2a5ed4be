"""Logical backups in mongodump's layout, restores, retention and the restore drill.

- `layout`: where files go and the manifest (counts, SHA-256 per file).
- `dump`: one consistent read of every collection into `<db>/<collection>.bson`.
- `restore`: documents and indexes back, and the check against the manifest.
- `retention`: which backups to keep (hourly / daily / monthly counts).
- `drill`: restore the latest backup into a scratch database, verify, drop.
- `job`: the scheduled backup (dump, prune, metrics) for the job runner.
"""
