"""Class prompts ``C_y`` of UCDM ("A photo of a [CLASS]") and checks of the class lists."""
from typing import List, Sequence

from cdmx.utils.errors import CdmxError


def check_prompt_template(template: str) -> str:
    """Return ``template`` if it holds exactly one ``{}`` placeholder for the class name."""
    if not isinstance(template, str) or template.count('{}') != 1:
        raise CdmxError(f'prompt template {template!r} needs exactly one "{{}}" placeholder for '
                        "the class name; write e.g. 'A photo of a {}.'.")
    try:
        template.format('x')
    except (IndexError, KeyError, ValueError) as err:
        raise CdmxError(f'prompt template {template!r} has braces other than the class '
                        f'placeholder ({err}); double literal braces as {{{{ and }}}}.') from err
    return template


def check_class_names(class_names: Sequence[str]) -> List[str]:
    """Return the known-class list as a list if it is non-empty, of strings, without duplicates.

    This is the list of classes a run generates for (UCDM's ``Y_known``); the per-pair
    ``class_names`` a generator is called with may repeat classes.
    """
    names = list(class_names) if not isinstance(class_names, str) else [class_names]
    if not names:
        raise CdmxError('the class list is empty; name at least one known class.')
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise CdmxError(f'class names {names!r} must be non-empty strings; fix the class list.')
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CdmxError(f'the class list repeats {", ".join(duplicates)}; list every class once.')
    return names


def format_prompts(template: str, class_names: Sequence[str]) -> List[str]:
    """``[template.format(name) for name in class_names]`` (per-pair names may repeat)."""
    return [template.format(name) for name in class_names]
