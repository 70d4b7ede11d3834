from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Annotations"

    def ready(self) -> None:
        # The policy imports the models, never the other way round: it is handed to their
        # querysets here, once every model is loaded.
        from annotations import models, policy

        models.install_visibility_filters(
            models.VisibilityFilters(
                notes=policy.visible_annotations,
                replies=policy.visible_replies,
                layer=policy.layer_filter,
            )
        )
