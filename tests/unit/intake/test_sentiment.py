"""Sentiment that reads like a CX person, and themes that cover: example sentences written for these tests."""

from __future__ import annotations

import pytest

from bot.common.vocabulary import SentimentWords
from bot.intake.routing import RoutingFacts, route_item
from bot.intake.scoring import match_themes, score_response
from bot.intake.sentiment import analyze_sentiment
from tests.conftest import make_config


@pytest.mark.parametrize("text", [
    "Onboarding took weeks and support never replied.",
    "Customer cannot export invoices since Monday.",
    "Checkout outage this morning, we cannot complete a payment.",
    "I have been waiting for a refund for ten days.",
    "The dashboard is too slow to use in our Monday meeting.",
    "Still waiting on an answer about the duplicate charge.",
    "The mobile app keeps logging me out.",
])
def test_complaints_the_lexicons_miss_are_negative(text: str) -> None:
    result = analyze_sentiment(text)
    assert result.label == "negative", result
    assert result.polarity < 0
    assert result.reason.startswith("complaint:")


def test_plain_praise_is_positive_and_names_its_words() -> None:
    result = analyze_sentiment("Lovely people, and the new reports are excellent.")
    assert result.label == "positive" and result.polarity > 0
    assert '"excellent"' in result.reason or '"lovely"' in result.reason


@pytest.mark.parametrize("text", ["Couldn't be happier with the switch.", "Can't complain, it does the job.",
                                  "No issues at all since we started.", "I can't recommend this team enough."])
def test_praise_idioms_with_a_denial_are_positive(text: str) -> None:
    assert analyze_sentiment(text).label == "positive"


def test_a_plain_statement_is_neutral() -> None:
    result = analyze_sentiment("We use it for the quarterly board pack.")
    assert result.label == "neutral" and result.reason == "no sentiment words"


def test_praise_and_a_complaint_in_one_comment_is_mixed() -> None:
    result = analyze_sentiment("Your support agent was fantastic, but the sync keeps failing every night.")
    assert result.label == "mixed"
    assert '"fantastic"' in result.reason and "failing" in result.reason


def test_negation_flips_praise_words() -> None:
    result = analyze_sentiment("The new editor is not good.")
    assert result.label == "negative"
    assert "not good" in result.reason


def test_a_detractor_comment_is_not_positive_unless_clearly_so() -> None:
    plain = "We moved the team to the annual plan."
    assert analyze_sentiment(plain).label == "neutral"
    assert analyze_sentiment(plain, category="detractor").label == "negative"
    assert analyze_sentiment(plain, category="detractor").reason == "detractor score; text neutral"
    assert analyze_sentiment("It is fine.", category="detractor").label == "mixed"
    assert analyze_sentiment("Absolutely wonderful, the best tool we have!", category="detractor").label == "positive"


def test_a_promoter_plain_comment_is_positive_but_a_complaint_stays_negative() -> None:
    assert analyze_sentiment("We moved the team to the annual plan.", category="promoter").label == "positive"
    assert analyze_sentiment("Still waiting on the invoice fix though.", category="promoter").label == "negative"


def test_score_response_uses_the_score() -> None:
    scored = score_response("csat", 1, "Our account manager changed again.")
    assert scored.category == "detractor" and scored.sentiment_label == "negative"
    assert scored.sentiment_reason == "detractor score; text neutral"


@pytest.mark.parametrize("text", [
    "La aplicación se cierra cada vez que intento exportar los datos y nadie me responde.",
    "Die App stürzt ständig ab und der Support antwortet nicht.",
    "Le service client ne répond pas depuis une semaine.",
    "Приложение постоянно зависает, поддержка не отвечает.",
    "アプリがすぐに落ちて、サポートから返事がありません。",
])
def test_other_languages_are_not_analysed(text: str) -> None:
    result = analyze_sentiment(text, category="detractor")
    assert result.label == "not_analysed"
    assert result.polarity == 0.0 and "language" in result.reason


@pytest.mark.parametrize("text", ["OK", "Merci!", "Great app, gracias", "The café menu is broken"])
def test_short_or_mostly_english_text_is_analysed(text: str) -> None:
    assert analyze_sentiment(text).label != "not_analysed"


def test_team_words_decide_before_the_lexicon() -> None:
    words = SentimentWords(negative=("escalated to legal", "churn*"), positive=("shout out",))
    plain = "The renewal was escalated to legal."
    assert analyze_sentiment(plain).label != "negative" or "legal" not in analyze_sentiment(plain).reason
    result = analyze_sentiment(plain, words=words)
    assert result.label == "negative" and '"escalated to legal"' in result.reason
    praise = analyze_sentiment("Shout out to Priya in onboarding.", words=words)
    assert praise.label == "positive" and '"shout out"' in praise.reason


# --- themes ----------------------------------------------------------------------------------------


def test_themes_keep_the_words_that_matched() -> None:
    found = match_themes("The app keeps crashing when I open an invoice, please add a dark mode")
    assert found["bugs"] == "crashing"
    assert found["billing"] == "invoice"
    assert found["feature_request"] == "please add"


@pytest.mark.parametrize(("text", "theme"), [
    ("Rock solid, never had a single crash.", "bugs"),
    ("No downtime at all this quarter.", "reliability"),
    ("We are not cancelling, just asking.", "churn_risk"),
    ("A bug-free release, well done.", "bugs"),
    ("It is not slow any more.", "performance"),
])
def test_denied_problems_are_not_themes(text: str, theme: str) -> None:
    assert theme not in match_themes(text)


def test_topic_themes_keep_their_match_after_a_denial() -> None:
    found = match_themes("There are no docs for the API and we can't export to CSV.")
    assert "documentation" in found and "integrations" in found


@pytest.mark.parametrize("text", [
    "If this is not fixed by Friday we are switching to another vendor.",
    "We will not renew next year.",
    "Please cancel my subscription.",
    "Honestly thinking of leaving.",
])
def test_churn_risk_language(text: str) -> None:
    assert "churn_risk" in match_themes(text)


def test_data_loss_and_the_broad_taxonomy() -> None:
    found = match_themes("After the migration all our notes disappeared and the SSO login times out.")
    assert "data_loss" in found and "security" not in found  # SSO is an integration here, not security
    assert "integrations" in found and "performance" in found


def test_route_can_match_churn_risk() -> None:
    config = make_config({
        "teams": [{"name": "success", "channel": "C0SUCCESS"}, {"name": "retention", "channel": "C0RETAIN"}],
        "routes": [{"name": "churn risk", "when": {"theme": "churn_risk"}, "team": "retention"}],
    })
    scored = score_response("nps", 4, "We are looking for alternatives before renewal.", config.themes)
    decision = route_item(RoutingFacts(kind="nps", source="generic", score=4, category=scored.category,
                                       sentiment=scored.sentiment_label, themes=scored.themes, tags=(), plan=None,
                                       segment=None, vip=False, comment="x"), config)
    assert decision.team == "retention"


# --- issue 17: contrast, expectation and "less of a good thing" (sentences written for these tests) -----


@pytest.mark.parametrize(("text", "side"), [
    # After "but" the second part is what the customer takes away (the text leans that way).
    ("The onboarding call was lovely but the export is too slow to use.", -1),
    ("The app crashed twice last week, but support sorted it out fast and I'm delighted.", +1),
    # A concession yields to the main clause, whichever side of the comma it stands.
    ("Although the agents were friendly, the refund never arrived.", -1),
    ("The invoices were wrong, although the account manager was wonderful about it.", -1),
])
def test_the_clause_after_a_contrast_decides_the_lean(text: str, side: int) -> None:
    result = analyze_sentiment(text)
    assert result.label in ("mixed", "negative" if side < 0 else "positive"), result
    assert result.polarity * side > 0, result


def test_praise_then_a_complaint_after_but_is_mixed_not_positive() -> None:
    result = analyze_sentiment("Great phone overall but the battery died by lunchtime.")
    assert result.label == "mixed" and result.polarity < 0
    assert '"died"' in result.reason


def test_while_as_time_is_not_a_contrast() -> None:
    assert analyze_sentiment("It crashed while uploading the report.").label == "negative"
    assert analyze_sentiment("Brilliant support while we migrated, thank you!").label == "positive"


@pytest.mark.parametrize(("text", "cue"), [
    ("The parcel was supposed to arrive on Monday.", "was supposed to"),
    ("I expected more from a premium plan.", "expected more"),
    ("Honestly the new dashboard is nothing special.", "nothing special"),
    ("Not a fan of the new navigation.", "not a fan"),
    ("Save your money and look at other tools.", "save your money"),
    ("The mobile app is less reliable than last year.", "less reliable"),
    ("Onboarding could have been better organised.", "could have been better"),
    ("The app doesnt work on my tablet.", "doesn't work"),  # typed without the apostrophe
])
def test_expectation_advice_and_decrease_cues_are_complaints(text: str, cue: str) -> None:
    result = analyze_sentiment(text)
    assert result.label == "negative", result
    assert f'"{cue}"' in result.reason


@pytest.mark.parametrize("text", [
    "The report is supposed to go out every Monday at nine.",  # a plain plan, not a missed promise
    "It is more or less fine for our team.",
    "The new plan is no less reliable than the old one.",
    "The meeting is at nine and the minutes are attached.",
])
def test_neutral_or_fine_statements_do_not_become_complaints(text: str) -> None:
    assert analyze_sentiment(text).label != "negative"


# --- CX words, dealt-with problems, long waits and wishes ------------------------------------------


@pytest.mark.parametrize(("text", "category", "label", "not_in_reason"), [
    # VADER scores "support" +1.7: a comment about the support team is not praise by that word.
    ("Support took four days to answer a simple ticket.", "detractor", "negative", "support"),
    ("Invoices should show the PO number.", None, "neutral", "po"),  # VADER: "po" -2.6 (slang), "number" +0.3
    ("The security team asked for store credit details.", None, "neutral", "security"),
    # VADER scores "offline" -0.5: an offline mode is a way of working, asked for or praised.
    ("Works offline, which our field team loves.", None, "positive", "offline"),
    ("Our reps use the offline mode every day.", None, "neutral", "offline"),
])
def test_words_that_name_cx_things_do_not_decide_the_sentiment(text, category, label, not_in_reason) -> None:
    result = analyze_sentiment(text, category=category)
    assert result.label == label, result
    assert f'"{not_in_reason}"' not in result.reason.lower()


@pytest.mark.parametrize(("text", "words"), [
    ("Since the migration half of our customer records are gone.", "records are gone"),
    ("The editor crashes and users lose their work.", "lose their work"),
    ("Our notes got deleted after the sync.", "notes got deleted"),
])
def test_stored_work_that_is_gone_is_data_loss(text: str, words: str) -> None:
    assert match_themes(text)["data_loss"] == words


def test_please_is_politeness_not_praise() -> None:
    # VADER scores "please" +1.3: an urgent escalation read "Positive (+0.15) words: please".
    urgent = score_response("escalation", None, "Half of our customer records are gone. Please let me know when "
                                                 "this is fixed.")
    assert urgent.sentiment_label == "negative" and "please" not in urgent.sentiment_reason
    assert "data_loss" in urgent.themes
    assert score_response("nps", None, "We copy it by hand every week.").sentiment_label == "neutral"


def test_the_service_going_offline_is_a_reliability_complaint_an_offline_mode_is_not() -> None:
    went = score_response("csat", None, "The portal was offline for two hours this morning.")
    assert (went.sentiment_label, went.sentiment_reason) == ("negative", 'complaint: "was offline"')
    assert dict(went.theme_matches)["reliability"] == "was offline"
    asked = score_response("nps", None, "We need an offline mode for our field reps.")
    assert "reliability" not in asked.themes and dict(asked.theme_matches)["feature_request"] == "we need an"


def test_praise_of_support_still_reads_as_praise() -> None:
    assert analyze_sentiment("Great support, they answered within the hour.").label == "positive"
    assert analyze_sentiment("Support was useless and rude.").label == "negative"


@pytest.mark.parametrize("text", [
    "Love it! Support resolved our issue in minutes.",
    "They fixed the crash the same day, thank you.",
    "The team solved my problem right away.",
])
def test_a_problem_already_dealt_with_is_no_complaint_and_no_bug(text: str) -> None:
    result = analyze_sentiment(text)
    assert result.label == "positive", result
    assert "bugs" not in match_themes(text)


@pytest.mark.parametrize("text", [
    "They never fixed the crash.",
    "Support still hasn't resolved the issue after a week.",
    "The update didn't fix the crash.",
    "Please fix the crash on startup.",  # asking for a fix: the crash is still there
])
def test_a_problem_not_yet_dealt_with_is_still_reported(text: str) -> None:
    assert analyze_sentiment(text).label in ("negative", "mixed"), analyze_sentiment(text)
    assert "bugs" in match_themes(text)


@pytest.mark.parametrize(("text", "cue"), [
    ("Support took four days to answer a simple ticket.", "took four days"),
    ("We waited over 3 weeks for a reply.", "waited over 3 weeks"),
    ("It took a couple of days to hear back.", "took a couple of days"),
    ("Page load time could be faster.", "could be faster"),
    ("The export should be much easier to find.", "should be much easier"),
    ("Reporting could be a lot more flexible.", "could be a lot more flexible"),
])
def test_long_waits_and_wishes_for_better_are_complaints(text: str, cue: str) -> None:
    result = analyze_sentiment(text)
    assert result.label == "negative", result
    assert f'"{cue}"' in result.reason


@pytest.mark.parametrize("text", [
    "Setup took 5 minutes and we were live.",  # minutes are quick
    "It took two clicks to export.",
    "The summary could be shared with the whole team.",  # no comparative
    "The report should be together with the invoice.",
])
def test_short_waits_and_plain_modals_are_not_complaints(text: str) -> None:
    assert analyze_sentiment(text).label != "negative", analyze_sentiment(text)


@pytest.mark.parametrize(("text", "label"), [
    ("The issue was resolved quickly.", "positive"),
    ("The crash has been fixed, thanks!", "positive"),
    ("The issue was never resolved.", "negative"),
    ("The bug needs to be fixed.", "negative"),  # a fix still owed
    ("Please fix the sync.", "negative"),
])
def test_a_problem_reported_as_fixed_after_it_is_dealt_with(text: str, label: str) -> None:
    assert analyze_sentiment(text).label == label, analyze_sentiment(text)
    assert ("bugs" in match_themes(text)) == (label == "negative")


@pytest.mark.parametrize(("text", "label"), [
    ("Response times have improved a lot since the last quarter.", "positive"),  # what lasted is good
    ("Works great since the update.", "positive"),
    ("It crashes since the update.", "negative"),
    ("The new reporting module is a step backwards.", "negative"),
])
def test_what_changed_and_which_way(text: str, label: str) -> None:
    assert analyze_sentiment(text).label == label, analyze_sentiment(text)


def test_evaluating_alternatives_is_a_churn_risk() -> None:
    assert "churn_risk" in match_themes("We're evaluating alternatives at renewal.")
    assert "churn_risk" not in match_themes("Much better than the alternatives we tried.")
    assert "churn_risk" in match_themes("I want to downgrade to the basic plan.")
    assert "churn_risk" in match_themes("Our security team asked us to look at alternatives.")


def test_a_login_loop_is_a_bug() -> None:
    assert match_themes("SSO login loops for half of our users.").get("bugs") == "login loops"
    assert "bugs" in match_themes("Every user is stuck in a redirect loop.")


@pytest.mark.parametrize(("text", "cue"), [
    ("@united flight delayed again, third time this month", "delayed"),  # the handle is no opinion
    ("Where is my order? Ordered two weeks ago.", "where is my"),
    ("The agent hung up on me.", "hung up on"),
    ("I'm done with this company.", "i'm done with"),
    ("Thanks for nothing.", "thanks for nothing"),  # sarcasm: the longer phrase wins over "thanks"
    ("Great, another price hike.", "price hike"),
    ("Your renewal price went up 30% with no warning.", "price went up"),  # VADER reads "no warning" as good
])
def test_service_failures_and_fixed_sarcasm_are_complaints(text: str, cue: str) -> None:
    result = analyze_sentiment(text)
    assert result.label == "negative", result
    assert f'"{cue}"' in result.reason


@pytest.mark.parametrize("text", [
    "Thanks, no problems at all.",
    "No delays this time, thank you!",
    "@acme_help you were great today",
])
def test_thanks_and_denied_failures_stay_praise(text: str) -> None:
    assert analyze_sentiment(text).label == "positive", analyze_sentiment(text)


@pytest.mark.parametrize("text", [
    "Support was helpful, though it took a while to get a real answer.",
    "Setup was easy, but the learning curve for new hires is steep.",
])
def test_praise_with_a_slow_or_steep_side_is_mixed(text: str) -> None:
    assert analyze_sentiment(text).label == "mixed", analyze_sentiment(text)


def test_the_words_of_a_wish_are_not_praise_of_what_is_there() -> None:
    # "nice" in "it would also be nice to" frames the wish; a detractor's "fine" alone is not clearly positive.
    detractor = score_response("nps", 6, "Reporting is fine. It would also be nice to export the report to PDF.")
    assert detractor.sentiment_label == "mixed" and "nice" not in detractor.sentiment_reason
    assert score_response("nps", None, "It would be great to have an option to schedule exports.").sentiment_label \
        == "neutral"
    # Praise beside the wish still counts.
    promoter = score_response("nps", 9, "Love the new inbox. It would also be nice to export the report to PDF.")
    assert (promoter.sentiment_label, promoter.sentiment_reason) == ("positive", 'words: "love"')


@pytest.mark.parametrize("text", [
    "Every new hire needs a walkthrough, we copy it by hand from an old doc.",  # TextBlob: new +0.14, old +0.1
    "We logged many tickets about the first export.",  # many +0.5, first +0.25
    "Make sure the other admins get the report right now.",  # sure +0.5, right +0.29
])
def test_words_of_quantity_and_order_are_not_opinions(text: str) -> None:
    result = analyze_sentiment(text)
    assert result.label == "neutral", result


@pytest.mark.parametrize(("text", "words"), [
    ("We lost two days of timesheet entries after your maintenance window.", "lost … entries"),
    ("Deleting a project also wiped the attached files in other projects.", "wiped"),
    ("Our integration silently drops records.", "drops records"),
    ("Our entire workspace history from 2024 is gone after the migration.", "workspace … is gone"),
])
def test_stored_work_lost_with_words_between_is_data_loss_and_a_complaint(text: str, words: str) -> None:
    scored = score_response("escalation", None, text)
    assert dict(scored.theme_matches).get("data_loss") == words
    assert scored.sentiment_label == "negative", scored


@pytest.mark.parametrize("text", [
    "We never lost any data in three years.",
    "We deleted the old files ourselves.",
    "Import your old records in minutes.",
    # Lost as a person's state, time and idioms, drag and drop, a noun with its adjective, a lack, a
    # workspace that is new (from an independent review of the matcher).
    "I feel lost in the projects page.",
    "New users get lost in the settings and files menus.",
    "I lost track of which tasks are due this week.",
    "We lose time re-typing contacts into the CRM.",
    "Support dropped the ball on our invoices last month.",
    "Dropping files into the uploader is easy.",
    "Deleted files can be restored from the trash for 30 days, nice.",
    "Please add an undo for deleted tasks.",
    "Can you add a way to recover deleted records?",
    "The notes are missing a due date field.",
    "Our history is empty because we only started last week.",
    "Our backup is empty until the first nightly job runs.",
])
def test_no_data_loss_when_denied_done_by_the_speaker_or_not_lost(text: str) -> None:
    assert "data_loss" not in match_themes(text)


def test_what_cannot_be_done_without_the_product_is_praise_not_a_bug() -> None:
    scored = score_response("nps", 10, "Couldn't run our agency without it. The portal saves us hours every week.")
    assert scored.sentiment_label == "positive" and "bugs" not in scored.themes
    # A failure with a verb after the pronoun is still one.
    assert "bugs" in match_themes("I can't log in without it crashing.")


@pytest.mark.parametrize(("text", "theme", "words"), [
    ("Honestly we're evaluating other tools right now. Contract is up in March.", "churn_risk",
     "evaluating other"),
    ("Our CFO is asking whether we should renew.", "churn_risk", "whether we should renew"),
    ("Another scheduled maintenance in the middle of our business day.", "reliability", "scheduled maintenance"),
    ("Data in the reports doesn't match what we see in the projects.", "bugs", "reports doesn't match"),
    ("Any plans for a Salesforce integration? We'd use it daily.", "feature_request", "any plans for"),
])
def test_renewal_doubt_maintenance_mismatch_and_plans(text: str, theme: str, words: str) -> None:
    assert match_themes(text)[theme] == words


@pytest.mark.parametrize("text", [
    "Our contract is up next month and we are happy to renew.",
    "Up for renewal in March and the team is happy.",
    "Thanks, we are evaluating the new reports and they look good.",
    "Reconsidering our earlier complaint, the fix works great.",
])
def test_a_renewal_or_an_evaluation_without_doubt_is_no_churn_risk(text: str) -> None:
    assert "churn_risk" not in match_themes(text)


def test_a_screenshot_that_no_longer_matches_is_docs_not_a_bug() -> None:
    assert "bugs" not in match_themes("Onboarding docs are a bit outdated, screenshots don't match the UI.")


def test_a_mild_praise_idiom_does_not_hide_a_usability_complaint() -> None:
    scored = score_response("nps", 7, "Not bad, not great. The permissions model is confusing for our managers.")
    assert scored.sentiment_label == "mixed" and "confusing" in scored.sentiment_reason
    # "Honestly" is a discourse marker, not praise: a detractor's plain statement reads negative.
    honest = score_response("nps", 3, "Honestly we're evaluating other tools right now.")
    assert honest.sentiment_label == "negative" and "honestly" not in honest.sentiment_reason


@pytest.mark.parametrize("text", [
    "It\u2019d also be nice to export to PDF. Reporting is fine.",  # typographic apostrophes (iOS, macOS)
    "It'd also be nice to export to PDF. Reporting is fine.",
])
def test_the_frame_of_a_wish_is_dropped_whatever_the_apostrophe(text: str) -> None:
    scored = score_response("nps", 4, text)
    assert scored.sentiment_label == "mixed" and "nice" not in scored.sentiment_reason, scored


def test_a_condition_after_without_is_no_dependence() -> None:
    # "without you guys fixing this": a verb after the pronoun and its filler makes it a condition.
    assert analyze_sentiment("I can't do anything without you guys fixing this.").label == "negative"


# --- other domains (a third batch of invented comments: retail, fintech, payroll, telehealth) ---------------


@pytest.mark.parametrize(("text", "theme", "words"), [
    ("Timesheet approvals take forever to load.", "performance", "take forever"),
    ("Why does the checkout keep logging me out?", "bugs", "keep logging me out"),
    ("The portal keeps saying something went wrong.", "bugs", "something went wrong"),
    ("The video call dropped 3 times during my appointment.", "reliability", "call dropped"),
    ("Im going to stop using your app after this.", "churn_risk", "going to stop using"),
    ("We really need a Xero integration.", "feature_request", "we really need a"),
    ("Half our employee records lost their bank details after the sync.", "data_loss", "lost … details"),
    ("Your help centre articles are out of date.", "documentation", "help centre"),
    ("My card got declined at the supermarket.", "billing", "card got declined"),
    ("It would be great if the app didnt crash every time I open it.", "bugs", "crash"),
])
def test_paraphrases_of_the_themes(text: str, theme: str, words: str) -> None:
    assert match_themes(text).get(theme) == words


@pytest.mark.parametrize(("text", "theme"), [
    ("Does the platform support SSO with Okta?", "support"),       # the verb, not the support team
    ("I had to cancel and reorder the whole thing.", "churn_risk"),  # an errand, not the customer leaving
    ("Cancel my appointment for Friday please.", "churn_risk"),
    ("Support could respond faster, tickets sit for days.", "performance"),  # the service's speed
    ("Fast shipping and good prices.", "performance"),
    ("It would be great if the app didnt crash every time I open it.", "feature_request"),  # a bug as a wish
])
def test_a_word_in_another_use_is_not_the_theme(text: str, theme: str) -> None:
    assert theme not in match_themes(text)


def test_the_support_team_doing_something_is_still_support() -> None:
    assert match_themes("Can support call me back?")["support"] == "support"
    assert match_themes("Will support help us migrate?")["support"] == "support"


@pytest.mark.parametrize(("kind", "score", "text", "label"), [
    # One weak lexicon word does not outweigh a detractor's score; a reply or a promise is no praise.
    ("ces", 2, "Timesheet approvals take forever to load, like 30+ seconds.", "negative"),
    ("nps", 2, "Yeah sure, 'same day appointments'. Earliest slot was next Thursday.", "negative"),
    ("nps", 4, "Setup took 3 months instead of the 3 weeks promised.", "negative"),
    ("nps", 2, "The transfer fee is a joke compared to competitors.", "negative"),
    # A wish that a failure stopped reports it.
    ("nps", 4, "It would be great if the app didnt crash every time I open the savings tab.", "negative"),
    # A wish that the service were faster, beside praise, is mixed.
    ("nps", 7, "Good product. Support could respond faster though.", "mixed"),
])
def test_scores_wishes_and_weak_words(kind: str, score: int, text: str, label: str) -> None:
    assert score_response(kind, score, text).sentiment_label == label


# --- a fourth batch: developer tools, e-mail marketing, support chats ---------------------------------------


@pytest.mark.parametrize(("kind", "score", "text", "label"), [
    ("csat", 5, "No wait at all and the issue was resolved. Cant ask for more.", "positive"),
    ("nps", 10, "Nothing to improve, keep doing what you're doing 👍", "positive"),
    ("nps", 0, "Oh great, another outage during our release window. Love that for us.", "negative"),
    ("nps", 7, "The Shopify sync sometimes takes hours to pull new customers in.", "negative"),
    ("csat", 1, "THE BOT WOULDNT LET ME TALK TO A HUMAN", "negative"),
])
def test_absence_of_a_nuisance_sarcasm_and_slowness_without_a_speed_word(kind, score, text, label) -> None:
    assert score_response(kind, score, text).sentiment_label == label


@pytest.mark.parametrize(("text", "theme", "words"), [
    ("Lost a week of build artifacts after your storage migration.", "data_loss", "lost … artifacts"),
    ("We cancelled our subscription last week.", "churn_risk", "cancelled our subscription"),
    ("THE BOT WOULDNT LET ME TALK TO A HUMAN", "support", "talk to a human"),
    ("Wish the unsubscribe page could be branded.", "feature_request", "wish the"),
    ("The Shopify sync sometimes takes hours to pull new customers in.", "performance", "takes hours to"),
])
def test_more_paraphrases_of_the_themes(text: str, theme: str, words: str) -> None:
    assert match_themes(text).get(theme) == words


@pytest.mark.parametrize(("text", "theme"), [
    ("Wish the unsubscribe page could be branded.", "churn_risk"),   # a page of the product
    ("Half our campaigns land in Gmail spam.", "security"),          # deliverability, not an attack
    ("Support for monorepos is excellent.", "support"),              # a capability, not the team
    ("Support for monorepos is excellent, I wish I'd switched sooner.", "feature_request"),  # regret
    ("Pricing jumps way too fast every renewal.", "performance"),    # how fast the price rises
    ("Much faster than Zendesk's support ever was.", "performance"),  # the service's speed
    ("My order was cancelled by the courier.", "churn_risk"),        # an errand
    ("I was billed for a consultation that was cancelled by the clinic.", "churn_risk"),  # done to them
    # False positives hunted on purpose (a helper wrote 50 to break the new rules).
    ("Loved it. Cancelled my other subscriptions because this does everything.", "churn_risk"),
    ("I canceled the duplicate invoice myself in two clicks, very easy.", "churn_risk"),
    ("If this continues to work this well we'll expand to more teams.", "churn_risk"),
    ("If this keeps up we'll be buying seats for the whole company.", "churn_risk"),
    ("We lost a week of work to the flu, not your fault, the product is great.", "data_loss"),
    ("Setup takes hours of planning on our side but that's expected.", "performance"),
    ("Our wait time at the front desk dropped by half since we started using your check-in app.", "support"),
    ("I wish your team a happy holiday season, great year working together.", "feature_request"),
    ("I wish the rest of our vendors were this responsive.", "feature_request"),
    ("Honestly I wish the onboarding had been this smooth at my last job.", "feature_request"),
])
def test_more_words_in_another_use(text: str, theme: str) -> None:
    assert theme not in match_themes(text)


@pytest.mark.parametrize("text", [
    "I canceled the duplicate invoice myself in two clicks, very easy.",
    "Your refund came through fast, no complaints at all.",
])
def test_errands_and_dealt_with_refunds_are_not_complaints(text: str) -> None:
    assert score_response("nps", 9, text).sentiment_label == "positive", score_response("nps", 9, text)
