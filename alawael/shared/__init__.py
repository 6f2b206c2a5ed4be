"""Helpers of the core that every door uses: global ids, JSON conversion of BSON values.

Nothing here imports a door or a GraphQL/REST library, so REST, jobs and the CLI can use them
without loading Strawberry."""
