"""The page, the widget and the bookmarklet in English, Russian and Korean, in real Chromium.

The language comes from the browser (the context's locale), the page's switch (remembered) or ?lang=;
the widget takes its lang attribute or the visitor's language. Keys and placeholders: test_i18n.py.
"""

import shutil

import pytest

from conftest import ROOT
from helpers import StaticServer, wait_until

pytestmark = pytest.mark.browser

EXAMPLE = ROOT / "site" / "examples" / "l2_digits_0.png"
BLANK_FILE = """(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 160; canvas.height = 60;
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff'; context.fillRect(0, 0, 160, 60);
    return new Promise((resolve) => canvas.toBlob((blob) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], 'blank.png', {type: 'image/png'}));
        const input = document.querySelector('#file');
        input.files = transfer.files;
        input.dispatchEvent(new Event('change', {bubbles: true}));
        resolve(true);
    }));
})()"""


@pytest.fixture
def localized(browser):
    """A page in a browser context of the given language."""
    contexts = []

    def open_page(locale):
        context = browser.new_context(locale=locale)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def text(page, selector):
    return page.evaluate(f"document.querySelector({selector!r}).textContent")


def test_the_page_speaks_the_browsers_language_and_switches(localized, site_url):
    page = localized("ru-RU")
    page.goto(site_url + "?nosw=1")
    assert page.evaluate("document.documentElement.lang") == "ru"
    assert "браузере" in page.title()
    assert text(page, "[data-i18n='page.tagline']").startswith("Распознаёт изображения KCAPTCHA")
    assert page.get_attribute("#site-lengths", "placeholder") == "любые, напр. 4-6"
    page.evaluate("kcsolver.ready")
    assert text(page, "#status").startswith("Готово: pyodide 0.27.7, Python")
    page.evaluate(BLANK_FILE)
    wait_until(page, "document.querySelector('#status').textContent === 'Распознано.'")
    assert text(page, "#answer") == "(нет ответа)"
    assert text(page, "#confidence") == ("Нет ответа: текст капчи не найден (изображение пустое или на нём нет "
                                         "тёмного текста на светлом фоне).")
    # The switch re-says everything, including what the page drew itself, and is remembered.
    page.select_option("#language", "ko")
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert text(page, "#status") == "풀었습니다."
    assert text(page, "#answer") == "(답 없음)" and text(page, "#confidence").startswith("답 없음: 캡차 글자를 찾지 못했습니다")
    assert text(page, "label[for='model']") == "풀이기"
    assert text(page, "#drop-help strong") == "붙여넣기"  # **bold** rendered as an element
    page.reload()
    assert page.evaluate("document.documentElement.lang") == "ko"
    page.goto(site_url + "?nosw=1&lang=en")
    assert text(page, "label[for='model']") == "Solver" and page.evaluate("document.documentElement.lang") == "en"


def test_bad_input_is_explained_in_the_users_language(localized, site_url):
    page = localized("ko-KR")
    page.goto(site_url + "?nosw=1")
    page.evaluate("kcsolver.ready")
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    message = wait_until(page, "!document.querySelector('#error').hidden && document.querySelector('#error-message').textContent")
    assert message == "\"notes.txt\"은(는) text/plain 형식으로, 이미지가 아닙니다. PNG, JPEG, GIF, BMP, WEBP를 쓰세요."
    assert text(page, "#error-title") == "이 이미지를 풀 수 없습니다"


@pytest.fixture
def host(tmp_path, server):
    shutil.copy(EXAMPLE, tmp_path / "captcha0.png")

    def make(attributes):
        (tmp_path / "host.html").write_text(f"""<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body>
<form><img id="captcha-img" src="captcha0.png"><input id="captcha-answer" name="keystring" type="text"></form>
<script type="module" src="{server.url}/app/widget.js"></script>
<kcaptcha-solver for="#captcha-img" input="#captcha-answer" {attributes}></kcaptcha-solver></body></html>""")
        return "host.html"

    with StaticServer(tmp_path) as host_server:
        host_server.make = make
        yield host_server


def widget_status(page):
    return wait_until(page, "document.querySelector('kcaptcha-solver').shadowRoot.querySelector('[part=status]')"
                            ".textContent", timeout_s=90)


# Two digits where the site says a-z, 5-6 long: refused, the reason in the widget's language.
@pytest.mark.parametrize("locale,attributes,expected", [
    ("ru-RU", "", "kcsolver: нет ответа (похоже на другую настройку KCAPTCHA (прочитано как '40'), которую "
                  "распознаватели этой модели не читают)"),
    ("en-US", 'lang="ko"', "kcsolver: 답 없음 (다른 KCAPTCHA 설정으로 보입니다 ('40'(으)로 읽힘). 이 모델의 풀이기가 읽지 "
                           "못하는 설정입니다)"),
    ("ko-KR", 'lang="en"', "kcsolver: no answer (looks like another KCAPTCHA configuration (read as '40'), which this "
                           "model's solvers do not read)"),
])
def test_the_widget_flags_in_its_lang_or_the_visitors(localized, host, locale, attributes, expected):
    page = localized(locale)
    name = host.make('charset="a-z" lengths="5-6" ' + attributes)
    page.goto(f"{host.url}/{name}")
    assert widget_status(page) == expected
    assert page.input_value("#captcha-answer") == ""


def test_the_bookmarklet_page_in_russian(localized, site_url):
    page = localized("ru")
    page.goto(site_url + "bookmarklet.html")
    assert text(page, "h1") == "kcsolver на других страницах"
    assert page.evaluate("document.querySelectorAll(\"[data-i18n-rich='tools.attributes'] code\").length") >= 15
    assert "widget.js" in text(page, "#snippet")  # the page's own work still done
    page.select_option("#language", "en")
    assert text(page, "h1") == "Use kcsolver on other pages"
