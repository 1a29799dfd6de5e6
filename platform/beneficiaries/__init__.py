"""The Beneficiaries Registry (Μητρώο Ωφελουμένων, issue 13): the people a municipality's centres,
annexes and mobile units register, inform, refer and follow (domain.md §4, §8, rules 4, 5, 8).

Built in steps. So far: how a name is written in Latin script and matched across spellings
(``names``), and how a person's identifiers are checked (``identifiers``)."""
