"""The moderation log cannot be rewritten: PostgreSQL refuses to delete a row or change what it
records. References may only be cleared, when the person or content they point at is deleted."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION annotations_moderation_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'The moderation log is append-only: its rows cannot be deleted.';
    END IF;
    IF NEW.id <> OLD.id
       OR NEW.act IS DISTINCT FROM OLD.act
       OR NEW.reason IS DISTINCT FROM OLD.reason
       OR NEW.old_state IS DISTINCT FROM OLD.old_state
       OR NEW.new_state IS DISTINCT FROM OLD.new_state
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.group_id IS DISTINCT FROM OLD.group_id
       OR (NEW.moderator_id IS NOT NULL AND NEW.moderator_id IS DISTINCT FROM OLD.moderator_id)
       OR (NEW.subject_id IS NOT NULL AND NEW.subject_id IS DISTINCT FROM OLD.subject_id)
       OR (NEW.annotation_id IS NOT NULL AND NEW.annotation_id IS DISTINCT FROM OLD.annotation_id)
       OR (NEW.reply_id IS NOT NULL AND NEW.reply_id IS DISTINCT FROM OLD.reply_id)
    THEN
        RAISE EXCEPTION 'The moderation log is append-only: its rows cannot be changed.';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER annotations_moderation_log_append_only
BEFORE UPDATE OR DELETE ON annotations_moderationaction
FOR EACH ROW EXECUTE FUNCTION annotations_moderation_log_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS annotations_moderation_log_append_only ON annotations_moderationaction;
DROP FUNCTION IF EXISTS annotations_moderation_log_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("annotations", "0002_discussions_and_moderation")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
