def test_it_filters_regions_by_level_and_subtree(client_for, operator, network):
    client = client_for(operator)
    districts = client.get("/api/v1/regions/", {"level": "district"}).json()["results"]
    assert {r["code"] for r in districts} == {"330502", "330521"}
    below = client.get("/api/v1/regions/", {"within": "330502"}).json()["results"]
    assert {r["code"] for r in below} == {"330502", "330502001", "330502001001"}


def test_an_unknown_region_code_is_a_400_beside_the_filter(client_for, operator, network):
    response = client_for(operator).get("/api/v1/regions/", {"within": "123456"})
    assert response.status_code == 400
    assert response.json()["fields"]["within"] == ["Unknown region code: 123456"]


def test_it_lists_organisations_by_kind_and_region(client_for, operator, network):
    client = client_for(operator)
    police = client.get("/api/v1/organisations/", {"kind": "police"}).json()["results"]
    assert [o["code"] for o in police] == ["police-wx"]
    in_wuxing = client.get("/api/v1/organisations/", {"region": "330502"}).json()["results"]
    assert {o["code"] for o in in_wuxing} == {"hospital", "police-wx"}


def test_me_lists_the_users_roles(client_for, counsellor_a, network):
    me = client_for(counsellor_a).get("/api/v1/me/").json()
    assert me["username"] == "counsellor_a"
    assert [(m["organisation"], m["role"]) for m in me["memberships"]] == [
        (network["centre_a"].pk, "counsellor")
    ]


def test_region_paths_make_subtrees(network):
    assert network["village"].path == "330500/330502/330502001/330502001001/"
    assert [r.code for r in network["village"].ancestors()] == [
        "330500",
        "330502",
        "330502001",
        "330502001001",
    ]
    assert network["village"].ancestor_at("district") == network["wuxing"]
