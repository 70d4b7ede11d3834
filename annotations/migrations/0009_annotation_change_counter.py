"""Every write to an annotation stamps it with a new number from one sequence: a document's
(highest stamp, number of annotations) then changes whenever anything on it changes — a note
made, edited, hidden, made private, deleted, imported, re-anchored, however it is written (the
ORM, a bulk update, COPY, psql). The reading page's cache keys on it (annotations.reading).

Kept out of the Django model on purpose: PostgreSQL alone sets it, and nothing may write it."""

from django.db import migrations

FORWARD = """
CREATE SEQUENCE annotations_annotation_change_seq;
ALTER TABLE annotations_annotation
    ADD COLUMN change bigint NOT NULL DEFAULT nextval('annotations_annotation_change_seq');
ALTER SEQUENCE annotations_annotation_change_seq OWNED BY annotations_annotation.change;
CREATE FUNCTION annotations_annotation_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change := nextval('annotations_annotation_change_seq');
    RETURN NEW;
END
$$;
CREATE TRIGGER annotation_stamp BEFORE INSERT OR UPDATE ON annotations_annotation
    FOR EACH ROW EXECUTE FUNCTION annotations_annotation_stamp();
CREATE INDEX annotation_change_idx ON annotations_annotation (document_id, change);
"""

BACKWARD = """
DROP TRIGGER annotation_stamp ON annotations_annotation;
DROP FUNCTION annotations_annotation_stamp();
ALTER TABLE annotations_annotation DROP COLUMN change;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0008_search_scope"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
