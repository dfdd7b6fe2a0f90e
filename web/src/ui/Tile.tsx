import { BlockStack, Card, Text } from '@shopify/polaris';

// Tile is one dashboard number with its label and an optional hint.
export function Tile({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Card>
      <BlockStack gap="100">
        <Text as="h3" variant="bodySm" tone="subdued">
          {label}
        </Text>
        <Text as="p" variant="headingLg">
          {value}
        </Text>
        {hint && (
          <Text as="p" variant="bodyXs" tone="subdued">
            {hint}
          </Text>
        )}
      </BlockStack>
    </Card>
  );
}
