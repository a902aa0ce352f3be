"""Who a text names: addresses, full names, and first names of people (never organisations or the user)."""

from __future__ import annotations

from introd.intro_plans import mentions, person_first_name
from introd.message import Address

OPS = Address("Ward Advisory Operations", "ops@ward-advisory.example")
BECKY = Address("Becky Hall", "becky@hallgrowth.example")


def test_first_names_only_for_person_like_display_names() -> None:
    """"Becky Hall" has a first name; an organisation or role name does not."""
    assert person_first_name("Becky Hall") == "Becky"
    assert person_first_name("Jane van der Berg") == "Jane"
    assert person_first_name("Ward Advisory Operations") is None
    assert person_first_name("Support Team") is None
    assert person_first_name("Cher") is None  # one word: too risky to match alone


def test_a_signature_word_does_not_name_an_organisation_sharing_it() -> None:
    """The user's signature "Alice Ward | Ward Advisory" names neither the ops mailbox nor anyone else."""
    text = "Would you be open to an intro to Becky Hall?\n\nAlice Ward | Partner, Ward Advisory"
    assert not mentions(text, OPS, frozenset({"alice", "ward"}))
    assert mentions(text, BECKY, frozenset({"alice", "ward"}))


def test_first_name_mentions_count_but_not_inside_other_words() -> None:
    """"Becky" names Becky Hall; "Beckyville" does not."""
    assert mentions("I told Becky about you.", BECKY)
    assert not mentions("We met in Beckyville.", BECKY)


def test_titles_are_skipped_and_surnames_count() -> None:
    """"Dr. Miriam Albrecht" is named by "Miriam" and by "Dr. Albrecht"; a title alone names nobody."""
    miriam = Address("Dr. Miriam Albrecht", "m.albrecht@klinik.example")
    assert person_first_name(miriam.name) == "Miriam"
    assert mentions("Hätten Sie Interesse, Dr. Albrecht kennenzulernen?", miriam)
    assert mentions("Miriam would be a great fit.", miriam)
    assert not mentions("Dr. Who is on tonight.", miriam)
