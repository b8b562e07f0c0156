/**
 * The admin GraphQL API's schema: Rafiki auth's `schema.graphql`, field for field, so that its
 * admin tools (the admin UI, account servicing entities) query opas unchanged.
 */
export const adminSchema = /* GraphQL */ `
  type Query {
    "A page of grants, newest first unless sortOrder says otherwise (Relay cursor paging)."
    grants(
      "Forward paging: the cursor (a grant id) to start after."
      after: String
      "Backward paging: the cursor (a grant id) to end before."
      before: String
      "Forward paging: at most this many grants (default 20, at most 100)."
      first: Int
      "Backward paging: at most this many grants (default 20, at most 100); needs before."
      last: Int
      "Only grants matching every criterion given."
      filter: GrantFilter
      "Order by creation time (then id): DESC by default."
      sortOrder: SortOrder
      "Only this tenant's grants: the operator only (another tenant always sees its own)."
      tenantId: ID
    ): GrantsConnection!

    "One grant by its id."
    grant("The grant's id." id: ID!): Grant!
  }

  type Mutation {
    "Revokes a grant and every token of it (as DELETE /continue does)."
    revokeGrant(input: RevokeGrantInput!): RevokeGrantMutationResponse!
  }

  type PageInfo {
    "The cursor of the last grant of this page (null when the page is empty)."
    endCursor: String
    "Whether grants follow this page in its order."
    hasNextPage: Boolean!
    "Whether grants precede this page in its order."
    hasPreviousPage: Boolean!
    "The cursor of the first grant of this page (null when the page is empty)."
    startCursor: String
  }

  type GrantsConnection {
    pageInfo: PageInfo!
    edges: [GrantEdge!]!
  }

  type GrantEdge {
    node: Grant!
    "The grant's id."
    cursor: String!
  }

  input GrantFilter {
    "Grants with an access item on one of these identifiers (wallet addresses)."
    identifier: FilterString
    state: FilterGrantState
    finalizationReason: FilterFinalizationReason
  }

  input FilterString {
    in: [String!]
  }

  input FilterGrantState {
    in: [GrantState!]
    notIn: [GrantState!]
  }

  input FilterFinalizationReason {
    in: [GrantFinalization!]
    notIn: [GrantFinalization!]
  }

  input RevokeGrantInput {
    grantId: String!
  }

  interface Model {
    id: ID!
    createdAt: String!
  }

  type Grant implements Model {
    id: ID!
    "The client's wallet address; null for a directed-identity (JWK) client."
    client: String
    access: [Access!]!
    subject: Subject
    state: GrantState!
    finalizationReason: GrantFinalization
    "ISO 8601."
    createdAt: String!
    tenantId: ID!
  }

  type Access implements Model {
    id: ID!
    "The wallet address the access applies to."
    identifier: String
    "incoming-payment, outgoing-payment or quote."
    type: String!
    actions: [String]!
    limits: LimitData
    createdAt: String!
  }

  type Subject {
    sub_ids: [SubjectItem!]!
  }

  type SubjectItem implements Model {
    id: ID!
    subId: String!
    subIdFormat: String!
    createdAt: String!
  }

  type LimitData {
    receiver: String
    debitAmount: PaymentAmount
    receiveAmount: PaymentAmount
    "ISO 8601 repeating interval."
    interval: String
  }

  type PaymentAmount {
    value: UInt64!
    assetCode: String!
    assetScale: UInt8!
  }

  type RevokeGrantMutationResponse {
    id: ID!
  }

  enum GrantState {
    PROCESSING
    PENDING
    APPROVED
    FINALIZED
  }

  enum GrantFinalization {
    ISSUED
    REVOKED
    REJECTED
  }

  enum SortOrder {
    ASC
    DESC
  }

  "An unsigned 8-bit integer (0 to 255)."
  scalar UInt8

  "An unsigned 64-bit integer, written as a JSON string (it may exceed 2^53)."
  scalar UInt64
`
