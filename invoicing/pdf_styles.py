"""Computed styles carried over from one invoice render to the next.

WeasyPrint computes an element's style lazily, one property at a time: about 4,900 computations for a
five-line invoice, about a fifth of a render. Within one document it already gives elements with the same
cascade one shared computed style (its key is the parent's style and the matched declarations), because a
computed value depends on nothing else. Every invoice is drawn from the same template and the same parsed
stylesheets, so the same cascades come back render after render; `SharedStyles` lets a new render start
from the values the last render computed for the same cascade, and skip computing them again.

A style is filled from an earlier one only when everything its values are computed from is the same:
- the same declarations with the same weights: the very objects of the process's parsed stylesheets, or
  equal values (the `lang` a document's own attributes declare);
- under a parent that was itself matched this way (so the whole chain up to the root is the same);
- for the same pseudo-element, or the same page type for `@page` and its margin boxes.
Anything else (a parent without a key, a value that cannot be compared) is simply computed as usual.

The new style is a new dict per document: only the computed values are shared, as WeasyPrint already
shares them between the elements of one document. tests/invoicing/test_pdf.py checks pages against
renders with no sharing, pixel for pixel.
"""

import functools
import itertools

import weasyprint.css
from weasyprint.css import AnonymousStyle, ComputedStyle, StyleFor

_ROOT = -1  # the parent key of the root element and of anything without a parent
_KEY = "_shared_styles_key"  # set on each ComputedStyle that has a key


def _comparable(value):
    """`value` if it can be a dict key; else an equal-comparing stand-in (sets and lists appear in a few
    cascades: `text-decoration-line: underline`, `content: ""`)."""
    try:
        hash(value)
    except TypeError:
        if isinstance(value, (set, frozenset)):
            return frozenset(_comparable(item) for item in value)
        if isinstance(value, (list, tuple)):
            return (type(value), tuple(_comparable(item) for item in value))
        raise
    return value


class _Record:
    """What one cascade's style computed, kept for the next render: no reference to the document."""

    __slots__ = ("anonymous", "computed", "specified")

    def __init__(self, computed: dict, specified: dict, anonymous: dict | None):
        self.computed = computed  # the values the style computed itself, filled in as the render goes
        self.specified = specified  # `position`, `float` and `display` as specified, which WeasyPrint keeps
        self.anonymous = anonymous  # the same for the style of anonymous boxes inside, once there is one


class _RecordingStyle(ComputedStyle):
    """A computed style that notes each value it computes, apart from values other code writes into it.

    WeasyPrint writes into some computed styles during a render (a page's `overflow` comes from the root
    box, padding and margins that do not apply to table parts are zeroed, a list marker's anonymous style
    gets `white-space: pre-wrap`). Only what the cascade gives may go to the next render, so it is the
    noted values that are carried, never the dict as the render left it."""

    record: _Record

    def __missing__(self, key):
        value = super().__missing__(key)
        if key in self:  # a few values are not kept (`page: auto` is looked up on the parent each time)
            self.record.computed[key] = dict.__getitem__(self, key)
        return value

    @functools.cached_property
    def anonymous_style(self):
        anonymous = _RecordingAnonymousStyle(self)
        if self.record.anonymous:
            anonymous.update(self.record.anonymous)
            anonymous.computed.update(self.record.anonymous)
        self.record.anonymous = anonymous.computed
        return anonymous


class _RecordingAnonymousStyle(AnonymousStyle):
    """The style of anonymous boxes inside a `_RecordingStyle`, noting its values likewise."""

    def __init__(self, parent_style):
        super().__init__(parent_style)
        self.computed = {}

    def __missing__(self, key):
        value = super().__missing__(key)
        if key in self:
            self.computed[key] = dict.__getitem__(self, key)
        return value


class SharedStyles:
    """What the last render computed, by cascade. Used by one render at a time (the caller locks).

    About 12 KB per cascade (tracemalloc). A five-line invoice has 47, of which 11 carry the partner's
    colours and the rest serve every partner's invoices: 1,000 cascades hold the invoices of some 80
    brand colours in about 12 MB. A process that meets more starts again."""

    def __init__(self, max_keys: int = 1_000):
        self.max_keys = max_keys
        self.reused = 0  # styles started from an earlier render's values (tests read it)
        self._keys: dict[tuple, int] = {}
        self._last: dict[int, _Record] = {}
        # Never restarted, even when the maps are cleared: a child's key holds its parent's number, and a
        # number reused for another cascade would match the child to the wrong parent.
        self._numbers = itertools.count()

    def adopt(self, style: ComputedStyle, element, pseudo_type: str | None) -> None:
        """Give `style`, just created, the values computed last time for the same cascade."""
        parent = style.parent_style
        parent_key = _ROOT if parent is None else getattr(parent, _KEY, None)
        if parent_key is None:
            return
        page_type = element if isinstance(element, tuple) else None  # `@page` styles are keyed by PageType
        try:
            cascade = frozenset(
                (name, _comparable(values), weight) for name, (values, weight) in style.cascaded.items()
            )
            key = (parent_key, pseudo_type, page_type, cascade)
            number = self._keys.get(key)
        except TypeError:
            return
        if number is None:
            if len(self._keys) >= self.max_keys:  # documents unlike any before: start again
                self._keys.clear()
                self._last.clear()
            number = self._keys[key] = next(self._numbers)
        setattr(style, _KEY, number)
        style.__class__ = _RecordingStyle  # the same layout: a ComputedStyle that also notes its values
        previous = self._last.get(number)
        if previous is None:
            style.record = self._last[number] = _Record({}, style.specified, None)
            return
        self.reused += 1
        style.record = self._last[number] = _Record(
            dict(previous.computed), style.specified, previous.anonymous
        )
        for name, value in previous.computed.items():
            style.setdefault(name, value)  # the few values computed on creation stay (they are equal)
        style.specified.update(previous.specified)


class SharingStyleFor(StyleFor):
    """WeasyPrint's StyleFor, handing each new computed style to the document's `shared_styles`, if any."""

    def __init__(self, html, *args, **kwargs):
        self._shared: SharedStyles | None = getattr(html, "shared_styles", None)
        super().__init__(html, *args, **kwargs)

    def set_computed_styles(
        self, element, parent, root=None, pseudo_type=None, base_url=None, target_collector=None
    ):
        super().set_computed_styles(element, parent, root, pseudo_type, base_url, target_collector)
        if self._shared is not None:
            self._shared.adopt(self._computed_styles[element, pseudo_type], element, pseudo_type)


# `get_all_computed_styles` builds its StyleFor by this module-level name. Documents without
# `shared_styles` (anything but an invoice) get WeasyPrint's behaviour unchanged.
if weasyprint.css.StyleFor is StyleFor:
    weasyprint.css.StyleFor = SharingStyleFor
