"""The site's icon, where browsers ask for it."""


def test_favicon_is_served_to_anyone_and_named_by_every_page(client, login):
    with client.get("/favicon.ico") as icon:  # a file response: closed after reading
        assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
        assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert '<link rel="icon" href="/favicon.ico">' in client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico">' in login("viewer").get("/").get_data(
        as_text=True
    )
