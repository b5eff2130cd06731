"""Uploads to the explorer: the size limit, and the page's guard that sends a too-big file's
size instead of the file."""

from __future__ import annotations

#: Largest CSV file the upload tab reads; a bigger one is refused with a message on the page.
UPLOAD_LIMIT = 10 * 2**20
#: Largest websocket message the server takes: above the largest upload the page sends (a file
#: of UPLOAD_LIMIT, base64-encoded: 4/3 its size; bigger ones are never sent, see
#: ``_UPLOAD_GUARD``), so a refused upload never closes the connection, while a client that
#: bypasses the page cannot make the server buffer more than this.
WEBSOCKET_MAX_MESSAGE = 64 * 2**20
#: What the page sends instead of a file over UPLOAD_LIMIT, followed by the file's size: the
#: browser never reads such a file (no string limit, no megabytes on the wire), and the server
#: refuses it by name and size like any other oversized upload.
OVERSIZED_MARK = b"gaussmix-oversized-upload:"
#: Installed in the page when the document is ready (Bokeh's ``document_ready`` event): the file
#: input reads uploads with ``FileReader.readAsDataURL``; a file over the limit is swapped for the
#: mark and its size. (Without it a file over the websocket's limit closed the connection, and
#: one too big for a JavaScript string failed in the browser with nothing on the page.)
_UPLOAD_GUARD = """
if (!window.__gaussmix_upload_guard) {
  window.__gaussmix_upload_guard = true;
  const read = FileReader.prototype.readAsDataURL;
  FileReader.prototype.readAsDataURL = function (blob) {
    if (blob && blob.size > limit) {
      return read.call(this, new Blob([mark + blob.size], {type: "text/plain"}));
    }
    return read.call(this, blob);
  };
}
"""


def upload_size(value):
    """The size of an upload: its length, or the size the page sent in place of a file over
    the limit (see ``_UPLOAD_GUARD``)."""
    value = bytes(value)
    if value.startswith(OVERSIZED_MARK) and value[len(OVERSIZED_MARK):].isdigit():
        return int(value[len(OVERSIZED_MARK):])
    return len(value)


def guard_uploads(document):
    """Make the page of ``document`` (a Bokeh document) send the size of a file over
    :data:`UPLOAD_LIMIT` instead of the file."""
    from bokeh.models import CustomJS

    if document is not None:
        document.js_on_event("document_ready", CustomJS(
            args={"limit": UPLOAD_LIMIT, "mark": OVERSIZED_MARK.decode()}, code=_UPLOAD_GUARD))
