"""The app starts on the shipped models, the home page shows the equations and links to every page."""

from tests.e2e.helpers import assert_no_exception, open_page


def test_home_page_renders_equations_and_links(page, app_url):
    open_page(page, app_url)
    assert page.get_by_text("see inside an LSTM").count() >= 1
    assert page.locator(".katex").count() >= 6  # the six equations
    for label in ["Gate Explorer", "LSTM vs LSTMP", "Gradient flow", "Train: StatQuest toy"]:
        assert page.get_by_role("link", name=label).count() >= 1, label
    assert page.get_by_text("Tensors live on").count() == 1
    assert_no_exception(page)
    page.screenshot(path="/tmp/home.png", full_page=True)
