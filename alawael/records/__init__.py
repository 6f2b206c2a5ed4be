"""Typed records: one frozen dataclass per entity, built from its MongoDB document once.

Services return these; the GraphQL types and the REST models are each built from a record
in one line. Defaults for fields old documents may lack (currency, thresholds, flags) are
applied here and nowhere else, so the two doors can never disagree about them.
"""
