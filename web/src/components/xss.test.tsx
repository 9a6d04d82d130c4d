import { describe, expect, it } from "vitest";
import { renderToString } from "react-dom/server";
import { MantineProvider } from "@mantine/core";
import { Pre } from "./common";
import "../i18n";

describe("text from the API is shown as text", () => {
  it("escapes markup in bodies and names", () => {
    const evil = "<img src=x onerror=alert(1)>";
    const html = renderToString(
      <MantineProvider>
        <Pre text={evil} />
        <span>{evil}</span>
      </MantineProvider>,
    );
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });
});
