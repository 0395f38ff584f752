from tests.factories import sign_in_staff


def test_the_officers_menu_leads_to_the_customers_requests(client, officer):
    sign_in_staff(client, officer)
    page = client.get("/officer/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/officer/dsr/"' in page
    assert client.get("/officer/dsr/").status_code == 200
