"""The window on the app's services: each take of a run recorded once, the take features attached in one way."""

from __future__ import annotations

from collections import Counter

from core.models.capabilities import FAMILIES
from core.takes.library import default_name
from desktop.main_window import MainWindow
from desktop.services.feature import TakeFeature
from tests.desktop.test_window import GENERATION_TIMEOUT_MS, prepare


def test_a_take_is_recorded_once_and_a_rename_meanwhile_stays(qtbot, make_window, fixtures_dir):
    """Two variations are listed as soon as their batch is written, then the run ends (scored by nothing new):
    each take's row is written once, so a take renamed while the run still went on keeps its new name."""
    window: MainWindow = make_window()
    prepare(window, fixtures_dir / "musicgen")
    window.generate_panel.params.variations.setValue(2)
    library, added = window.library, Counter()
    add = library.add

    def counted(take, files, *args, **kwargs):
        added[files.sidecar] += 1
        return add(take, files, *args, **kwargs)

    library.add = counted
    renamed: list[int] = []

    def arrived(records, first):
        if first:  # the run has not ended yet: its end is queued after this
            renamed.append(library.rename(records[0].id, "kick for the trailer").id)

    window.controller.takes_arrived.connect(arrived)
    with qtbot.waitSignal(window.controller.takes_added, timeout=GENERATION_TIMEOUT_MS) as blocker:
        window.generate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    records = blocker.args[0]
    assert len(records) == 2 and len(added) == 2 and set(added.values()) == {1}
    assert library.get(renamed[0]).name == "kick for the trailer"
    other = next(r for r in records if r.id != renamed[0])
    assert other.name == default_name(other.prompt, other.seed)
    assert window.takes_panel.model.rowCount() == 2


def test_every_feature_follows_the_selected_take(make_window):
    """The features are attached in one loop: each is a TakeFeature whose menu entries are in the window's menus."""
    window: MainWindow = make_window()
    assert all(isinstance(feature, TakeFeature) for feature in window.features)
    in_menus = {action for menu in window.menuBar().findChildren(type(window.take_menu)) for action in menu.actions()}
    for feature in window.features:
        for _place, action in feature.menu_entries():
            assert action in in_menus or action in window.toolbar.actions()
    assert not window.explain.action.isEnabled() and not window.scene.action.isEnabled()  # no take selected


def test_the_longest_take_is_cores(make_window):
    """The duration box goes up to the longest take a model makes (MusicGen's 600 s, core.models.capabilities),
    not a limit of the window's own; core checks the chosen model's limit when the take is made."""
    window: MainWindow = make_window()
    longest = max(family.longest_take or 0.0 for family in FAMILIES.values())
    assert longest == 600.0
    window.generate_panel.params.duration.setValue(longest)
    assert window.generate_panel.params.params().duration == longest
