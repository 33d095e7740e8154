// /tickets/new: picking a customer from the search fills the hidden customer id.
document.addEventListener("click", function (event) {
  var pick = event.target.closest && event.target.closest("[data-pick-customer]");
  if (!pick) return;
  document.getElementById("customer-id").value = pick.getAttribute("data-pick-customer");
  document.getElementById("customer-search").value = pick.getAttribute("data-label");
  document.getElementById("customer-matches").innerHTML = "";
});
