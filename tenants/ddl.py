"""The tenant schema as one DDL script, compiled from the models for one schema.

Provisioning sends it in a single round trip: the schema, every tenant table and index, and
the migration stamp (the version table with the stream's head), exactly what
``MetaData.create_all`` plus Alembic's ``stamp`` would do in a dozen round trips. Names come
only from the validated code and the models; SQLAlchemy renders and quotes them.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Column, Dialect, MetaData, PrimaryKeyConstraint, String, Table, insert
from sqlalchemy.schema import CreateIndex, CreateSchema, CreateTable, ExecutableDDLElement

from kentra.platform.core.models import TENANT_SCHEMA
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.streams import VERSION_TABLE, tenant_metadata


def version_table(schema: str) -> Table:
    """Alembic's version table, as Alembic itself defines it (name, column, primary key)."""
    return Table(
        VERSION_TABLE,
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
        schema=schema,
    )


def _tenant_ddl_elements(metadata: MetaData) -> list[ExecutableDDLElement]:
    elements: list[ExecutableDDLElement] = []
    for table in metadata.sorted_tables:
        elements.append(CreateTable(table))
        elements.extend(
            CreateIndex(index) for index in sorted(table.indexes, key=lambda i: str(i.name))
        )
    return elements


# Compiled once per (dialect, head) for this stand-in schema, then the validated tenant schema
# name is put in its place. It is a valid, unquoted identifier like every m_<code>, so the
# compiled text is the same as for a real tenant but for the name.
_STAND_IN = parse_municipality_code("0000")


def tenant_schema_statements(dialect: Dialect, code: MunicipalityCode, head: str) -> list[str]:
    """``CREATE SCHEMA``, the tables, their indexes, the version table and the stamp."""
    return [s.replace(_STAND_IN.schema_name, code.schema_name) for s in _compiled(dialect, head)]


def tenant_schema_script(dialect: Dialect, code: MunicipalityCode, head: str) -> str:
    """The same statements as one script, for a single round trip."""
    return ";\n".join(tenant_schema_statements(dialect, code, head)) + ";"


@lru_cache(maxsize=8)
def _compiled(dialect: Dialect, head: str) -> tuple[str, ...]:
    code = _STAND_IN
    metadata = tenant_metadata()
    if any(table.schema != TENANT_SCHEMA for table in metadata.sorted_tables):
        raise ValueError("every tenant table must be declared on the placeholder schema")
    translate = {TENANT_SCHEMA: code.schema_name}
    version = version_table(code.schema_name)
    elements = [
        CreateSchema(code.schema_name),
        *_tenant_ddl_elements(metadata),
        CreateTable(version),
    ]
    statements = [
        str(
            element.compile(
                dialect=dialect, schema_translate_map=translate, render_schema_translate=True
            )
        ).strip()
        for element in elements
    ]
    stamp = insert(version).values(version_num=head)
    statements.append(str(stamp.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
    script = "\n".join(statements)
    # The stand-in must occur only as the schema name (CREATE SCHEMA and "m_0000." prefixes),
    # never inside a table, column or index name.
    if script.count(code.schema_name) != script.count(code.schema_name + ".") + 1:
        raise ValueError(f"{code.schema_name} occurs in the tenant DDL other than as the schema")
    return tuple(statements)
