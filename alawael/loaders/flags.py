from __future__ import annotations

from alawael.loaders.base import DocumentByIdLoader


class FeatureFlagByIdLoader(DocumentByIdLoader):
    """For `node(id)` on FeatureFlag ids."""

    collection = "feature_flags"
