"""The app starts on the shipped models, the home page shows the equations and links to every page."""

from tests.e2e.helpers import assert_no_exception, open_page


def test_home_page_renders_equations_and_links(page, app_url):
    open_page(page, app_url)
    page.wait_for_function("document.querySelectorAll('.katex').length >= 6")  # the six equations
    assert page.get_by_text("see inside an LSTM").count() >= 1
    for label in ["Gate Explorer", "LSTM vs LSTMP", "Gradient flow", "Train: StatQuest toy"]:
        assert page.get_by_role("link", name=label).count() >= 1, label
    assert page.get_by_text("Tensors live on").count() == 1
    assert_no_exception(page)
    page.screenshot(path="/tmp/home.png", full_page=True)


def test_a_fresh_server_opened_on_a_page_url_still_shows_the_app_shell(page, tmp_path):
    """Streamlit's old pages-folder mode must not take over when the first request is a deep link."""
    from tests.e2e.conftest import running_app

    with running_app(tmp_path) as url:
        open_page(page, url, "cell_step")
        page.wait_for_selector("[data-testid='stSidebarNav']")
        page.get_by_text("Tensors live on").wait_for()
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Gate Explorer" in nav and "One cell, step by step" in nav
        assert "cell step" not in nav  # no file-name titles from the pages-folder mode
        assert page.get_by_text("Tensors live on").count() == 1
        assert_no_exception(page)


def test_try_first_buttons_open_the_explorer_on_their_model(page, app_url):
    """Home's "Try first" buttons: each opens the Gate Explorer with its model chosen in the sidebar."""
    from tests.e2e.helpers import settle

    sidebar = page.locator("[data-testid='stSidebar']")
    for button, file, shows in [
        ("Read Python code", "charlm_python.pt", "Text by unit"),
        ("Break the borrow", "subtraction_lstm.pt", "Intervene"),
        ("Your own model", None, "No file yet"),
    ]:
        open_page(page, app_url)
        page.get_by_role("button", name=button).click()
        page.wait_for_url("**/explorer", timeout=60_000)
        page.get_by_text(shows).first.wait_for(timeout=120_000)
        settle(page, 120_000)
        if file is not None:  # the sidebar's shipped checkpoint box shows the file, and that model is in use
            assert file in sidebar.inner_text(), button
            assert file.split("_")[0] in sidebar.get_by_text("In use:").inner_text().lower(), button
        else:
            assert sidebar.get_by_text("Upload a .pt file").count() >= 1
        if file == "charlm_python.pt":  # the text coloured by the unit that tracks strings best, not the busiest
            page.get_by_text("The units that track in_string best over 100,000 validation characters").first.wait_for(
                timeout=120_000)
        if shows == "Intervene":  # the borrow breaks at once: the Intervene tab open, unit 1 of c zeroed
            page.get_by_text("the model says 30").first.wait_for(timeout=60_000)
            assert page.get_by_role("tab", name="Intervene", selected=True).count() == 1
        assert_no_exception(page)
