// Starts Swagger UI (gateway/static/swagger-ui) on the API's OpenAPI document.  A file of its
// own: the site's Content-Security-Policy runs no inline script.
(function () {
  var container = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: container.getAttribute("data-spec-url"),
    domNode: container,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null  // no badge fetched from another site
  });
})();
