import dagster as dg

from gemini_assets.core.tasks.catalog import pin_versions


class CatalogResource(dg.ConfigurableResource):
    """Which task versions a run uses. Pin an earlier version to re-run or roll back a day:
    run config ``resources: {catalog: {config: {pinned_versions: {product_recognition: "1.0.0"}}}}``.
    """

    pinned_versions: dict[str, str] = {}

    def activate(self) -> None:
        # Every step that looks tasks up calls this first; a bad pin fails the step at once.
        pin_versions(self.pinned_versions)
